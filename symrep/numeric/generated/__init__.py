"""Generated NumPy code of the models shipped with symrep (symrep.numeric.generated_system).

Every module here is written by symrep.numeric.model_codegen; do not edit.
"""
