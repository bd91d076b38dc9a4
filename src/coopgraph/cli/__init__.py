"""The ``coopgraph`` command: :mod:`~coopgraph.cli.main` holds the group and the commands
of the pipeline's stages, :mod:`~coopgraph.cli.publish` the publishing ones (serve, docs,
release), :mod:`~coopgraph.cli.session` what every command shares (settings, loading)."""
