"""Model answers, one file per drill. Each file's main function and its docstring are
also the stub that `tutor drill NAME` writes (with the body left to the user)."""
