"""Generated NumPy code of the models shipped with symrep (symrep.numeric.generated_system).

Every module here is written by symrep.numeric.model_codegen (the linear VAEs) or
symrep.numeric.ship (the one-unit modules); do not edit. Each carries the key of the
sources and model definition it was generated from (``SOURCE_KEY``, or in the file name)
and is used only while that key is current. After an edit of those sources::

    .venv/bin/python -m symrep.numeric.ship            # regenerate (SymPy, about a minute)
    .venv/bin/python -m symrep.numeric.ship --rename   # re-key only, when no code changed
"""
