"""The graph as files: the sources the dataset is built from, and loading them."""
