from validator import Issue, rule


@rule(id="t_duplicate", summary="Second definition.", why="Test rule: id collision (b).")
def t_duplicate(ann, ctx, opts):
    yield Issue.on(ann, "b")
