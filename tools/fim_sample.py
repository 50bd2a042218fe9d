"""One fill-in-the-middle sample in PSM order, shared by the plain (data.py) and repository-level (repo_data.py) samplers."""


def fim_ids(rng, encode, text, pre, suf, mid, eot, rename=None):
    """(ids, i, j): text[i:j] is the middle and ids are
    <|fim_prefix|>before<|fim_suffix|>after<|fim_middle|>middle<|endoftext|>, each part encoded alone as the engine
    does at completion time. Half the middles are short (up to a few lines, as in most completions), half cut
    anywhere. Draws from `rng` in the same order as before this was shared, so the sample streams are unchanged."""
    if rng.random() < 0.5:
        i = rng.randrange(0, len(text) + 1)
        j = min(len(text), i + rng.randrange(0, 200))
    else:
        i, j = sorted(rng.randrange(0, len(text) + 1) for _ in range(2))
    return fim_ids_at(encode, text, i, j, pre, suf, mid, eot, rename), i, j


def fim_ids_at(encode, text, i, j, pre, suf, mid, eot, rename=None):
    """The PSM sample whose middle is text[i:j]; with `rename` (a rename.py session), of the renamed text, the cuts
    moved with it (renaming the three parts apart would rename a name cut by the cursor as two other names)."""
    if rename is not None:
        text, (i, j) = rename(text, (i, j))
    return [pre] + encode(text[:i]) + [suf] + encode(text[j:]) + [mid] + encode(text[i:j]) + [eot]
