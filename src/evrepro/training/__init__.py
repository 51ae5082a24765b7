"""A run × seed's training, whatever its family: how its jobs execute (``execution``), when it checkpoints within an
epoch (``preemption``), its folder's lifecycle (``folder``: resume, set aside, restore), its record (``record``: the
only writer of config.yaml, history.csv, model.json, metrics.json) and the train and evaluate stages (``stages``)."""
