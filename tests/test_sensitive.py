"""Tests for sklfair._sensitive: selecting, validating and encoding groups."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklfair._sensitive import (
    MAX_GROUPS,
    bin_sensitive_features,
    check_sensitive_features,
    drop_sensitive_columns,
    encode_groups,
    resolve_sensitive,
    select_sensitive_columns,
)
from sklfair.exceptions import ContinuousSensitiveAttributeWarning


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "income": [1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
            "sex": ["female", "male", "female", "male", "male", "female"],
            "age": [22, 31, 45, 23, 60, 38],
            "age_band": pd.Categorical(
                ["<25", ">=25", ">=25", "<25", ">=25", ">=25"],
                categories=[">=25", "<25", "unused"],
            ),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


# ---------------------------------------------------------------- single column


def test_single_column_keeps_raw_values_and_name(frame):
    groups = check_sensitive_features(frame["sex"], n_samples=6)
    assert isinstance(groups, pd.Series)
    assert groups.name == "sex"
    assert groups.tolist() == frame["sex"].tolist()
    assert groups.index.equals(frame.index)


@pytest.mark.parametrize(
    "values",
    [
        [0, 1, 1, 0],
        np.array([0, 1, 1, 0]),
        (0, 1, 1, 0),
        np.array([[0], [1], [1], [0]]),
    ],
)
def test_array_like_input_gets_default_name_and_range_index(values):
    groups = check_sensitive_features(values, name="A")
    assert groups.name in ("A", 0)
    assert groups.tolist() == [0, 1, 1, 0]
    assert groups.index.equals(pd.RangeIndex(4))


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.0, 1.0, 1.0], [0.0, 1.0, 1.0]),
        ([True, False, True], [True, False, True]),
        (["a", "b", "a"], ["a", "b", "a"]),
    ],
)
def test_bool_float_and_str_columns_with_few_values_are_groups(values, expected):
    assert check_sensitive_features(values).tolist() == expected


def test_categorical_keeps_category_order_and_drops_unused(frame):
    groups = check_sensitive_features(frame["age_band"])
    assert isinstance(groups.dtype, pd.CategoricalDtype)
    assert list(groups.cat.categories) == [">=25", "<25"]
    codes, labels = encode_groups(groups)
    assert list(labels) == [">=25", "<25"]
    assert codes.tolist() == [1, 0, 0, 1, 0, 0]


# ---------------------------------------------------------------- intersections


def test_intersectional_labels_format_order_and_name(frame):
    groups = check_sensitive_features(frame[["sex", "age_band"]])
    assert groups.name == "sex, age_band"
    assert groups.index.equals(frame.index)
    assert groups.iloc[0] == "sex=female, age_band=<25"
    assert groups.iloc[1] == "sex=male, age_band=>=25"
    # sorted by sex (natural order), then by age_band's category order
    assert list(groups.cat.categories) == [
        "sex=female, age_band=>=25",
        "sex=female, age_band=<25",
        "sex=male, age_band=>=25",
        "sex=male, age_band=<25",
    ]
    # one label per combination that occurs (pandas groupby is the oracle)
    n_combinations = frame.groupby(["sex", "age_band"], observed=True).ngroups
    assert groups.nunique() == n_combinations


def test_intersection_with_only_observed_combinations():
    A = pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "x", "y", "y"]})
    groups = check_sensitive_features(A)
    assert list(groups.cat.categories) == ["a=1, b=x", "a=2, b=y"]


def test_two_dimensional_array_columns_are_named_by_position():
    groups = check_sensitive_features(np.array([[1, 0], [0, 1], [0, 1]]))
    assert groups.tolist() == ["0=1, 1=0", "0=0, 1=1", "0=0, 1=1"]
    assert groups.name == "0, 1"


def test_commas_in_values_are_escaped_so_labels_stay_distinct():
    A = pd.DataFrame({"a": ["x, b=1", "x"], "b": ["1", "1, b=1"]})
    groups = check_sensitive_features(A)
    assert groups.nunique() == 2
    assert groups.iloc[0] == "a=x\\, b=1, b=1"


def test_values_printing_the_same_raise():
    A = pd.DataFrame({"a": ["x", "x"], "b": [1, "1"]})
    with pytest.raises(ValueError, match="print the same label"):
        check_sensitive_features(A)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 3), st.sampled_from(["f", "m", "x,y", "="]), st.booleans()
        ),
        min_size=2,
        max_size=40,
    )
)
def test_intersection_count_equals_distinct_row_combinations(data):
    A = pd.DataFrame(data, columns=["n", "s", "b"])
    n_distinct = len(set(data))
    if n_distinct < 2:
        with pytest.raises(ValueError, match="only 1 group"):
            check_sensitive_features(A)
        return
    groups = check_sensitive_features(A)
    assert groups.nunique() == n_distinct
    # rows with equal values share a label, rows with different values do not
    labels = groups.tolist()
    for i in range(len(data)):
        for j in range(i + 1, len(data)):
            assert (labels[i] == labels[j]) == (data[i] == data[j])
    # categories sorted column by column
    order = sorted(set(data))
    expected = [
        ", ".join(
            f"{c}={str(v).replace(',', chr(92) + ',')}"
            for c, v in zip("nsb", combo, strict=True)
        )
        for combo in order
    ]
    assert list(groups.cat.categories) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(-5, 5)),
        hnp.arrays(np.bool_, st.integers(1, 50)),
        hnp.arrays(
            np.float64, st.integers(1, 50), elements=st.sampled_from([0.0, 0.5, 1.0])
        ),
    )
)
def test_encode_groups_round_trip_numeric(values):
    codes, labels = encode_groups(values)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(labels[codes], values)
    np.testing.assert_array_equal(labels, np.unique(values))
    np.testing.assert_array_equal(codes, np.unique(values, return_inverse=True)[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["b", "a", "c,d", "é", ""]), min_size=1, max_size=30))
def test_encode_groups_round_trip_strings(values):
    codes, labels = encode_groups(values)
    assert labels[codes].tolist() == values
    assert labels.tolist() == sorted(set(values))
    assert set(codes.tolist()) == set(range(len(labels)))


def test_encode_groups_of_intersections_follows_categories(frame):
    groups = check_sensitive_features(frame[["sex", "age_band"]])
    codes, labels = encode_groups(groups)
    assert labels.tolist() == list(groups.cat.categories)
    assert labels[codes].tolist() == groups.tolist()


def test_encode_groups_mixed_types_and_errors():
    codes, labels = encode_groups([1, "a", 1])
    assert labels[codes].tolist() == [1, "a", 1]
    with pytest.raises(ValueError, match="1D"):
        encode_groups(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="missing"):
        encode_groups(["a", None])
    with pytest.raises(ValueError, match="check_sensitive_features"):
        encode_groups(pd.DataFrame({"a": [1], "b": [2]}))


# ---------------------------------------------------------------- bad input


def test_wrong_length_names_both_sizes():
    with pytest.raises(ValueError, match="sensitive_features has 2 rows, but X has 3"):
        check_sensitive_features([0, 1], n_samples=3)


@pytest.mark.parametrize(
    "values",
    [
        ["a", None, "b"],
        [0.0, np.nan, 1.0],
        pd.Series(["a", None, "b"], dtype="category"),
        pd.Series(["a", None, "b"], dtype="str"),
    ],
)
def test_missing_values_raise(values):
    with pytest.raises(ValueError, match=r"1 missing value\(s\).*position\(s\) 1"):
        check_sensitive_features(values)


def test_missing_value_names_the_column(frame):
    A = frame[["sex", "age"]].astype({"age": float})
    A.iloc[2, 1] = np.nan
    with pytest.raises(ValueError, match="column 'age' of sensitive_features"):
        check_sensitive_features(A)


def test_single_group_raises_unless_allowed():
    with pytest.raises(ValueError, match=r"only 1 group\(s\) \('a'\)"):
        check_sensitive_features(["a", "a"])
    assert check_sensitive_features(["a", "a"], min_groups=1).tolist() == ["a", "a"]


def test_continuous_column_is_cut_into_quartiles_with_a_warning(frame):
    with pytest.warns(
        ContinuousSensitiveAttributeWarning,
        match=r"'age' of sensitive_features \(6 distinct values\) into \['<=23'",
    ):
        groups = check_sensitive_features(frame[["sex", "age"]], max_groups=5)
    assert groups.iloc[0] == "sex=female, age=<=23"
    ages = np.arange(MAX_GROUPS + 1, dtype=float)
    with pytest.warns(ContinuousSensitiveAttributeWarning, match="4 quantile bins"):
        binned = check_sensitive_features(ages)
    assert binned.value_counts(sort=False).tolist() == [6, 5, 5, 5]
    assert list(binned.cat.categories) == ["<=5", "(5, 10]", "(10, 15]", ">15"]
    assert check_sensitive_features(ages, max_groups=None).nunique() == MAX_GROUPS + 1
    assert check_sensitive_features(ages[:MAX_GROUPS]).nunique() == MAX_GROUPS


def test_continuous_column_without_bins_suggests_them():
    ages = np.arange(MAX_GROUPS + 1, dtype=float)
    with pytest.raises(ValueError, match="sensitive_bins=.*pd\\.cut"):
        check_sensitive_features(ages, bins=False)


def test_quantile_bins_match_numpy_and_pandas():
    age = np.random.default_rng(0).integers(18, 90, 500)
    groups = check_sensitive_features(age, bins=5)
    points = np.quantile(age, [0.2, 0.4, 0.6, 0.8], method="inverted_cdf")
    expected = pd.cut(age, np.r_[-np.inf, points, np.inf], labels=False)
    np.testing.assert_array_equal(groups.cat.codes, expected)
    # an explicit int bins every numeric column with more values, silently
    A = pd.DataFrame({"age": age, "flag": age % 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = check_sensitive_features(A, bins=5)
    assert labels.nunique() == 10


def test_cut_points_and_their_errors():
    age = pd.Series([18, 25, 26, 60, 61, 90], name="age")
    groups = check_sensitive_features(age, bins={"age": [25, 60]})
    assert groups.tolist() == ["<=25", "<=25", "(25, 60]", "(25, 60]", ">60", ">60"]
    assert groups.name == "age"
    _, groups, points = resolve_sensitive(
        pd.DataFrame({"age": age, "x": 1.0}),
        sensitive_columns="age",
        bins={"age": 2},
        return_bins=True,
    )
    np.testing.assert_array_equal(points["age"], [26.0])
    for bad, match in [
        ({"age": [60, 25]}, "increase strictly"),
        ({"age": []}, "cut points such as"),
        ({"age": 1}, "at least 2 bins"),
        ({"height": 3}, r"names \['height'\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_sensitive_features(age, bins=bad)
    with pytest.raises(ValueError, match="numeric columns only"):
        check_sensitive_features(pd.Series(list("abcdef"), name="c"), bins={"c": 2})


def test_binned_missing_values_stay_missing():
    age = np.r_[np.arange(30, dtype=float), np.nan]
    with pytest.raises(ValueError, match="1 missing value"):
        check_sensitive_features(age, bins=3)


def test_heavy_ties_give_fewer_bins():
    values = np.r_[np.zeros(90), np.arange(1, 31)]
    groups = check_sensitive_features(values, bins=4)
    assert list(groups.cat.categories) == ["<=0", ">0"]


def test_bin_sensitive_features_is_the_explicit_way():
    age = np.arange(18, 98)
    assert bin_sensitive_features(age, 4).value_counts().tolist() == [20] * 4
    assert list(bin_sensitive_features(age, [30]).cat.categories) == ["<=30", ">30"]


def test_many_string_values_suggest_merging():
    values = [f"country{i}" for i in range(MAX_GROUPS + 1)]
    with pytest.raises(ValueError, match="Merge rare values"):
        check_sensitive_features(values)


def _object_array(items):
    """A 1D object array holding ``items`` as they are (rows included)."""
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


@pytest.mark.parametrize(
    "values, error, message",
    [
        ("sex", TypeError, "use sensitive_columns="),
        (3, TypeError, "array-like"),
        (sp.csr_matrix(np.eye(2)), TypeError, "sparse"),
        (np.zeros((2, 2, 2)), ValueError, "1D or 2D"),
        ([[1, 2], [3]], ValueError, "rectangular"),
        (_object_array([1, (2, 3), 4]), ValueError, "rectangular"),
        (_object_array(["a", ["b"], "c"]), ValueError, "rectangular"),
        ([], ValueError, "empty"),
        (pd.DataFrame(index=range(3)), ValueError, "no columns"),
    ],
)
def test_bad_types_and_shapes(values, error, message):
    with pytest.raises(error, match=message):
        check_sensitive_features(values)


# ---------------------------------------------------------------- selecting


@pytest.mark.parametrize(
    "selector, expected",
    [
        ("sex", ["sex"]),
        (1, ["sex"]),
        (-3, ["sex"]),
        (np.int64(1), ["sex"]),
        (["sex", "age_band"], ["sex", "age_band"]),
        ([1, 3], ["sex", "age_band"]),
        (("age_band", "sex"), ["age_band", "sex"]),
        (["sex", "sex"], ["sex"]),
        ([False, True, False, True], ["sex", "age_band"]),
        (np.array([False, True, False, True]), ["sex", "age_band"]),
        (pd.Index(["sex"]), ["sex"]),
    ],
)
def test_select_from_dataframe(frame, selector, expected):
    selected = select_sensitive_columns(frame, selector)
    assert list(selected.columns) == expected
    pd.testing.assert_frame_equal(selected, frame[expected])


@pytest.mark.parametrize("container", ["ndarray", "csr", "csc", "coo", "list"])
def test_select_from_arrays_by_position(container):
    A = np.array([[0.0, 1.0, 5.0], [1.0, 0.0, 6.0], [1.0, 1.0, 7.0]])
    X = {
        "ndarray": A,
        "csr": sp.csr_matrix(A),
        "csc": sp.csc_array(A),
        "coo": sp.coo_matrix(A),
        "list": A.tolist(),
    }[container]
    selected = select_sensitive_columns(X, [1, 0])
    assert list(selected.columns) == [1, 0]
    np.testing.assert_array_equal(selected.to_numpy(), A[:, [1, 0]])
    groups = check_sensitive_features(selected)
    assert groups.tolist() == ["1=1.0, 0=0.0", "1=0.0, 0=1.0", "1=1.0, 0=1.0"]


def test_select_with_callable(frame):
    def is_young(X):
        return (X["age"] < 25).to_numpy()

    selected = select_sensitive_columns(frame, is_young)
    assert list(selected.columns) == ["is_young"]
    assert selected.index.equals(frame.index)
    assert selected["is_young"].tolist() == [True, False, False, True, False, False]
    selected = select_sensitive_columns(frame, lambda X: X[["sex"]])
    pd.testing.assert_frame_equal(selected, frame[["sex"]])
    selected = select_sensitive_columns(frame, lambda X: X["age"].to_numpy() > 30)
    assert list(selected.columns) == ["groups"]


@pytest.mark.parametrize(
    "selector, error, message",
    [
        ("sexe", ValueError, r"'sexe' is not in X\. Did you mean 'sex'\?.*'income'"),
        (
            "zzz",
            ValueError,
            r"Available columns: \['income', 'sex', 'age', 'age_band'\]",
        ),
        (4, ValueError, "index 4 is out of range for X with 4 columns"),
        (-5, ValueError, "index -5 is out of range"),
        ([True, False], ValueError, "mask has 2 entries, but X has 4 columns"),
        ([False] * 4, ValueError, "selects no column"),
        ([], ValueError, "empty"),
        (True, TypeError, "single boolean"),
        (1.5, TypeError, "must be a column name"),
        ([1.5], TypeError, "column names .str. or integer positions"),
        (lambda X: [0, 1], ValueError, "returned 2 rows, but X has 6 samples"),
    ],
)
def test_select_errors(frame, selector, error, message):
    with pytest.raises(error, match=message):
        select_sensitive_columns(frame, selector)


def test_select_by_name_needs_column_names():
    with pytest.raises(ValueError, match="has no column names"):
        select_sensitive_columns(np.zeros((2, 2)), "sex")
    with pytest.raises(ValueError, match="must be 2D"):
        select_sensitive_columns(np.zeros(3), 0)


def test_available_columns_list_is_truncated():
    X = pd.DataFrame(np.zeros((2, 30)), columns=[f"f{i}" for i in range(30)])
    with pytest.raises(ValueError, match=re.escape("... (10 more)")):
        select_sensitive_columns(X, "nope")


# ---------------------------------------------------------------- dropping


def test_drop_keeps_dataframe_and_feature_names(frame):
    X_model = drop_sensitive_columns(frame, ["sex", "age_band"])
    assert isinstance(X_model, pd.DataFrame)
    assert list(X_model.columns) == ["income", "age"]
    assert X_model.index.equals(frame.index)
    pd.testing.assert_frame_equal(X_model, frame[["income", "age"]])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_drop_keeps_sparse_format(fmt):
    A = np.arange(12.0).reshape(3, 4)
    for make in (sp.csr_matrix, sp.csr_array):
        X = make(A).asformat(fmt)
        X_model = drop_sensitive_columns(X, [0, 2])
        assert sp.issparse(X_model)
        assert X_model.format == fmt
        assert type(X_model) is type(X)
        np.testing.assert_array_equal(X_model.toarray(), A[:, [1, 3]])


def test_drop_keeps_ndarray_and_list():
    A = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(drop_sensitive_columns(A, -1), A[:, :2])
    assert drop_sensitive_columns(A.tolist(), [0]) == [[1, 2], [4, 5]]


def test_drop_with_callable_drops_nothing(frame):
    assert drop_sensitive_columns(frame, lambda X: X["sex"]) is frame


def test_drop_everything_is_an_error(frame):
    with pytest.raises(ValueError, match="no columns.*drop_sensitive=False"):
        drop_sensitive_columns(frame, list(frame.columns))
    with pytest.raises(ValueError, match=r"\[0\] would leave X with no columns"):
        drop_sensitive_columns(np.zeros((3, 1)), 0)


# ---------------------------------------------------------------- resolve


def test_resolve_from_columns_drops_them(frame):
    X_model, groups = resolve_sensitive(frame, sensitive_columns=["sex", "age_band"])
    assert list(X_model.columns) == ["income", "age"]
    assert groups.index.equals(frame.index)
    expected = check_sensitive_features(frame[["sex", "age_band"]])
    pd.testing.assert_series_equal(groups, expected)


def test_resolve_can_keep_columns(frame):
    X_model, groups = resolve_sensitive(
        frame, sensitive_columns="sex", drop_sensitive=False
    )
    assert X_model is frame
    assert groups.tolist() == frame["sex"].tolist()


def test_resolve_from_features_aligns_to_x_index(frame):
    A = pd.Series(["a", "b", "a", "b", "a", "b"], index=range(6), name="grp")
    X_model, groups = resolve_sensitive(frame, sensitive_features=A)
    assert X_model is frame
    assert groups.index.equals(frame.index)
    assert groups.tolist() == A.tolist()
    assert groups.name == "grp"


def test_resolve_neither_and_both(frame):
    X_model, groups = resolve_sensitive(frame)
    assert X_model is frame and groups is None
    with pytest.raises(ValueError, match="Both sensitive_columns and sensitive_featur"):
        resolve_sensitive(frame, sensitive_columns="sex", sensitive_features=[0] * 6)


def test_resolve_errors_name_the_column(frame):
    with pytest.raises(ValueError, match="column 'sex' of sensitive_columns has 2"):
        resolve_sensitive(frame, sensitive_columns="sex", max_groups=1)
    with pytest.raises(ValueError, match="has 2 rows, but X has 6 samples"):
        resolve_sensitive(frame, sensitive_features=[0, 1])
    only_female = frame[frame["sex"] == "female"]
    with pytest.raises(ValueError, match=r"sensitive_columns 'sex' has only 1 group"):
        resolve_sensitive(only_female, sensitive_columns="sex")


def test_resolve_on_sparse_and_array():
    A = np.array([[0.0, 1.0, 5.0], [1.0, 0.0, 6.0], [1.0, 1.0, 7.0]])
    X_model, groups = resolve_sensitive(sp.csr_matrix(A), sensitive_columns=0)
    assert sp.issparse(X_model) and X_model.shape == (3, 2)
    assert groups.tolist() == [0.0, 1.0, 1.0]
    X_model, groups = resolve_sensitive(A, sensitive_columns=[True, True, False])
    np.testing.assert_array_equal(X_model, A[:, [2]])
    assert groups.tolist() == ["0=0.0, 1=1.0", "0=1.0, 1=0.0", "0=1.0, 1=1.0"]


def test_groups_work_with_fairlearn_metric_frame(frame):
    from fairlearn.metrics import MetricFrame, selection_rate

    groups = check_sensitive_features(frame[["sex", "age_band"]])
    y = np.array([1, 0, 1, 1, 0, 0])
    mf = MetricFrame(
        metrics=selection_rate, y_true=y, y_pred=y, sensitive_features=groups
    )
    assert len(mf.by_group) == groups.nunique()
    by_hand = pd.Series(y, index=frame.index).groupby(groups, observed=True).mean()
    assert mf.by_group.to_dict() == pytest.approx(by_hand.to_dict())


# --- memory (issue 22) -----------------------------------------------------------
@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int64, np.uint8, np.uint64, np.float64, bool]
)
def test_integer_groups_code_as_factorize_and_nunique_do(dtype):
    from sklfair._group_labels import _column_codes, _n_distinct

    rng = np.random.default_rng(0)
    for values in (
        rng.integers(0, 5, 200),
        rng.integers(-3, 4, 200) if np.dtype(dtype).kind == "i" else [7, 7],
        [np.iinfo(np.int8).max, 0, 3],
        rng.integers(0, 10**6, 20),  # a sparse range: hashed
    ):
        column = pd.Series(np.asarray(values).astype(dtype))
        codes, uniques = _column_codes(column)
        expected_codes, expected_uniques = pd.factorize(column, sort=True)
        np.testing.assert_array_equal(codes, expected_codes)
        assert codes.dtype == np.int64
        pd.testing.assert_index_equal(uniques, expected_uniques, exact=True)
        assert _n_distinct(column) == column.nunique()


def test_integer_groups_are_counted_without_a_hash_table(traced_peak):
    # issue 22: nunique (the continuity check) and factorize (twice) hashed
    # every row, their temporaries several times the column, and the group
    # labels were copied once more; now they are counted slab by slab
    from sklfair._sensitive import fit_groups

    def policy(values):
        groups = check_sensitive_features(values, len(values))
        return groups, fit_groups(groups, None, owner="test")

    values = (np.random.default_rng(0).random(1_000_000) > 0.7).astype(np.int64)
    (groups, (codes, labels, sizes)), peak = traced_peak(policy, values)
    assert peak < 3 * values.nbytes
    np.testing.assert_array_equal(codes, values)
    assert labels.tolist() == [0, 1] and sizes.sum() == len(values)
    # the labels are still the policy's own (not a view of the caller's array)
    assert not np.shares_memory(groups.to_numpy(), values)


def test_the_groups_do_not_alias_the_callers_series():
    # the labels of one column are a shallow copy of it (no copy of the
    # values): renaming or writing to them leaves the caller's Series alone
    series = pd.Series([0, 1, 0, 1], name="sex")
    groups = check_sensitive_features(series, 4)
    assert groups.name == "sex"
    groups.name = "other"
    groups.iloc[0] = 1
    assert series.name == "sex" and series.tolist() == [0, 1, 0, 1]
