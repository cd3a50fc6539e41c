"""The build context: which files of the client's directory a build may see."""
