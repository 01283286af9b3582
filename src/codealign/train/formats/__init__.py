"""Training data formats: each turns rows into tokenized examples with the loss where the recipe puts it.

One module per format, registered in `codealign.registry.TRAIN_FORMATS`; `base.Format` is what they share.
"""
