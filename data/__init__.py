"""Built-in data files (``geo/``: the default Jing'an district); see ``geo/NOTICE``."""
