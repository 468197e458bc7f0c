"""The workspace store: named datasets, their versions, the bin (see ``data.store.workspaces``)."""
