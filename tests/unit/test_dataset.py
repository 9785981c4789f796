import pandas as pd

from rolefit.config import BuildParams
from rolefit.data.dataset import SPLITS, assign_splits


def _frame(n=5000):
    return pd.DataFrame(
        {
            "respondent_id": [f"r{i // 2}" for i in range(n)],  # every respondent appears twice
            "source": ["a" if i % 3 else "b" for i in range(n)],
            "role": ["mle" if (i // 2) % 4 == 0 else "swe" for i in range(n)],
        }
    )


def test_no_respondent_in_two_splits():
    frame = _frame()
    split = assign_splits(frame, BuildParams())
    keys = frame["source"] + "/" + frame["respondent_id"]
    assert split.groupby(keys).nunique().max() == 1
    assert set(split) == set(SPLITS)


def test_split_is_stratified_and_deterministic():
    frame = _frame()
    split = assign_splits(frame, BuildParams())
    assert split.equals(assign_splits(frame.sample(frac=1, random_state=1).sort_index(), BuildParams()))
    shares = split.value_counts(normalize=True)
    assert abs(shares["train"] - 0.55) < 0.02 and abs(shares["test"] - 0.25) < 0.02
    for _, group in frame.groupby(["source", "role"]):
        group_shares = split.loc[group.index].value_counts(normalize=True)
        assert abs(group_shares["test"] - 0.25) < 0.04
    other = assign_splits(frame, BuildParams(seed=99))
    assert not split.equals(other)
