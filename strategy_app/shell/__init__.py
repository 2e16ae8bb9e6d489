"""The app's shell: navigation, page set-up and sidebar, shared widgets, share view, serve."""
