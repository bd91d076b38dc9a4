"""The graph as files: the project's layout, Turtle parsed with positions, the sources the
dataset is built from, the dataset itself, the canonical Turtle form, and counts."""
