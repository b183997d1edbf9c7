from validator import Issue, rule


@rule(id="t_duplicate", summary="First definition.", why="Test rule: id collision (a).")
def t_duplicate(ann, ctx, opts):
    yield Issue.on(ann, "a")
