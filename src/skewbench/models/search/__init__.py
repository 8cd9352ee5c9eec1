"""Search models: lexical, dense, personalised and trained retrievers behind one interface."""
