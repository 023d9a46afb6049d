"""Tests of the bundled data set loaders (``sklfair.datasets``).

The oracles are independent of the loaders: the counts of the data README and
of the sources' documentation (UCI, ProPublica's analysis), and the bundled
raw files parsed here with the standard library (``gzip`` and ``csv``).
"""

import csv
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import sklfair.datasets
from sklfair.datasets import (
    _adult,
    _base,
    _compas,
    _german,
    _taiwan,
    load_adult,
    load_compas,
    load_german_credit,
    load_taiwan_credit,
)

DATA_DIR = Path(sklfair.datasets.__file__).parent / "data"

# From /work/shared/data/SHA256SUMS: the bundled files are the shared ones.
SHA256 = {
    "adult.data.gz": "a2f705b3e25127fef642b4f2a1a40b386ffebb8967233ace7809bd70885b8180",
    "adult.test.gz": "7c0aa7bc1c4dc112813530fe3eeaefa45379d7638796785a1dfbc6f88ef66131",
    "compas-scores-two-years.csv.gz": (
        "15b484e10c7b1a682a3f531fad879f0a0b49ff4ac214e4b90b7d50f37884dcdd"
    ),
    "german.data.gz": (
        "67a1d115f4aa55cb6fff7ad33ee8ebdbd879c065f1a56ad361a64a50e124c470"
    ),
    "taiwan_credit_default.csv.gz": (
        "e20a0c0799dc227ca54c3fd65e4fcbd32f9e0ab3ddc99d96daa5e1d8450a79ef"
    ),
}

LOADERS = {
    "german": (load_german_credit, {}),
    "taiwan": (load_taiwan_credit, {}),
    "adult_train": (load_adult, {"subset": "train"}),
    "adult_test": (load_adult, {"subset": "test"}),
    "adult_all": (load_adult, {"subset": "all"}),
    "compas": (load_compas, {}),
}
SENSITIVE = {
    "german": ["sex", "age_band"],
    "taiwan": ["sex", "age_band"],
    "adult_train": ["sex", "race", "age_band"],
    "adult_test": ["sex", "race", "age_band"],
    "adult_all": ["sex", "race", "age_band"],
    "compas": ["sex", "race", "age_cat"],
}
N_ROWS = {
    "german": 1000,
    "taiwan": 30000,
    "adult_train": 32561,
    "adult_test": 16281,
    "adult_all": 32561 + 16281,
    "compas": 6172,
}
CACHED = [
    _german._load_frame,
    _taiwan._load_frame,
    _adult._load_frame,
    _compas._load_frame,
]


def assert_frame_equal(left, right):
    """Strict and fast equality of two frames (categoricals compared by codes).

    ``pandas.testing.assert_frame_equal`` takes about a second per categorical
    column of string categories with pandas 3; this keeps the file fast.
    """
    assert isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame)
    assert list(left.columns) == list(right.columns)
    assert left.index.equals(right.index)
    for name in left.columns:
        assert_series_equal(left[name], right[name])


def assert_series_equal(left, right):
    """Strict and fast equality of two series (see :func:`assert_frame_equal`)."""
    assert isinstance(left, pd.Series) and isinstance(right, pd.Series)
    assert left.name == right.name and left.dtype == right.dtype, left.name
    assert left.index.equals(right.index)
    if isinstance(left.dtype, pd.CategoricalDtype):
        np.testing.assert_array_equal(left.cat.codes, right.cat.codes)
    else:
        np.testing.assert_array_equal(left.to_numpy(), right.to_numpy())


def _load(key, **kwargs):
    loader, params = LOADERS[key]
    return loader(**params, **kwargs)


def _raw_rows(filename, delimiter=",", skip=0):
    """Rows of a bundled file as lists of stripped strings (stdlib only)."""
    with gzip.open(DATA_DIR / filename, "rt", newline="") as handle:
        rows = [
            [field.strip() for field in row]
            for row in csv.reader(handle, delimiter=delimiter)
        ]
    return [row for row in rows[skip:] if row]


@pytest.fixture(scope="module")
def bunches():
    return {key: _load(key) for key in LOADERS}


# ---------------------------------------------------------------- bundling


@pytest.mark.parametrize("filename", sorted(SHA256))
def test_bundled_files_match_the_shared_checksums(filename):
    digest = hashlib.sha256((DATA_DIR / filename).read_bytes()).hexdigest()
    assert digest == SHA256[filename]


# Every file opened while a test records (an audit hook sees all opens, also
# those made by pandas and gzip). A hook cannot be removed: it stays idle.
_OPENED = []
_RECORDING = []


def _audit(event, args):
    if _RECORDING and event == "open" and isinstance(args[0], (str, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


def test_loaders_read_only_the_package_data():
    _OPENED.clear()
    _RECORDING.append(True)
    try:
        for cached in CACHED:
            cached.cache_clear()
        for key in LOADERS:
            _load(key)
    finally:
        _RECORDING.clear()
    assert not [path for path in _OPENED if "/work/shared" in path]
    data_dir = DATA_DIR.resolve()
    read = {
        Path(path).name for path in _OPENED if Path(path).resolve().parent == data_dir
    }
    assert read == set(SHA256)


# ---------------------------------------------------------- common contract


@pytest.mark.parametrize("key", LOADERS)
def test_bunch_shapes_names_and_dtypes(bunches, key):
    bunch = bunches[key]
    data, target, frame = bunch.data, bunch.target, bunch.frame
    assert isinstance(data, pd.DataFrame)
    assert data.shape[0] == N_ROWS[key]
    assert list(data.columns) == bunch.feature_names
    assert isinstance(target, pd.Series) and target.dtype == np.int64
    assert set(np.unique(target)) == {0, 1}
    assert len(bunch.target_names) == 2
    assert isinstance(data.index, pd.RangeIndex) and data.index.equals(target.index)
    assert_frame_equal(frame[bunch.feature_names], data)
    assert_series_equal(frame[target.name], target)
    assert bunch.categories is None
    for name in data.columns:
        assert name == name.lower() and " " not in name and "-" not in name
        dtype = data[name].dtype
        assert isinstance(dtype, pd.CategoricalDtype) or dtype == np.int64, name
    # The sensitive attributes travel inside X.
    assert set(SENSITIVE[key]) <= set(data.columns)


@pytest.mark.parametrize("key", LOADERS)
def test_sensitive_frame_is_aligned_with_data(bunches, key):
    bunch = bunches[key]
    sensitive = bunch.sensitive
    assert list(sensitive.columns) == SENSITIVE[key]
    assert sensitive.index.equals(bunch.data.index)
    assert_frame_equal(sensitive, bunch.data[SENSITIVE[key]])
    for name in sensitive.columns:
        assert isinstance(sensitive[name].dtype, pd.CategoricalDtype)
        assert sensitive[name].notna().all()
        assert sensitive[name].nunique() >= 2


@pytest.mark.parametrize("key", LOADERS)
def test_return_X_y(bunches, key):
    X, y = _load(key, return_X_y=True)
    assert_frame_equal(X, bunches[key].data)
    assert_series_equal(y, bunches[key].target)


@pytest.mark.parametrize("key", LOADERS)
def test_as_frame_false_gives_ordinal_float_arrays(bunches, key):
    expected = bunches[key]
    bunch = _load(key, as_frame=False)
    X, y = bunch.data, bunch.target
    assert isinstance(X, np.ndarray) and X.dtype == np.float64
    assert X.shape == expected.data.shape
    assert isinstance(y, np.ndarray) and y.dtype == np.int64
    np.testing.assert_array_equal(y, expected.target.to_numpy())
    assert bunch.frame is None
    categorical = [
        name
        for name in expected.feature_names
        if isinstance(expected.data[name].dtype, pd.CategoricalDtype)
    ]
    assert list(bunch.categories) == categorical
    for j, name in enumerate(expected.feature_names):
        column = expected.data[name]
        missing = column.isna().to_numpy()
        np.testing.assert_array_equal(np.isnan(X[:, j]), missing)
        if name in bunch.categories:
            codes = X[~missing, j].astype(int)
            decoded = np.asarray(bunch.categories[name], dtype=object)[codes]
            np.testing.assert_array_equal(decoded, column[~missing].astype(object))
        else:
            np.testing.assert_array_equal(X[:, j], column.to_numpy(dtype=float))
    # The group labels stay readable.
    assert_frame_equal(bunch.sensitive, expected.sensitive)
    X2, y2 = _load(key, as_frame=False, return_X_y=True)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize("key", ["german", "taiwan", "adult_all"])
def test_age_band_cuts_at_25(bunches, key):
    data = bunches[key].data
    assert list(data["age_band"].cat.categories) == ["<25", ">=25"]
    expected = np.where(data["age"] < 25, "<25", ">=25")
    np.testing.assert_array_equal(data["age_band"].astype(str), expected)


@pytest.mark.parametrize("key", LOADERS)
def test_descr_documents_source_licence_and_every_column(bunches, key):
    bunch = bunches[key]
    descr = bunch.DESCR
    assert "licence" in descr.lower()
    assert "https://" in descr
    for name in [*bunch.feature_names, bunch.target.name]:
        assert f"``{name}``" in descr, name
    for label in bunch.target_names:
        assert f'"{label}"' in descr


@pytest.mark.parametrize("key", LOADERS)
def test_cache_cannot_be_corrupted_through_returned_objects(key):
    first = _load(key)
    reference = _load(key)
    del first.data[first.feature_names[0]]
    first.data.iloc[0, 0] = first.data.iloc[1, 0]
    first.data.loc[0, "age"] = -5
    first.target.iloc[:] = 1 - first.target
    first.frame.loc[0, ["age", first.target.name]] = [-5, 7]
    groups = first.sensitive.iloc[:, 0]
    other = [c for c in groups.cat.categories if c != groups.iloc[0]][0]
    first.sensitive.iloc[0, 0] = other
    first.feature_names.append("junk")
    first.target_names[0] = "junk"
    arrays = _load(key, as_frame=False)
    arrays.data[:] = -1
    arrays.target[:] = -1
    arrays.categories[next(iter(arrays.categories))].append("junk")

    again = _load(key)
    assert_frame_equal(again.data, reference.data)
    assert_series_equal(again.target, reference.target)
    assert_frame_equal(again.frame, reference.frame)
    assert_frame_equal(again.sensitive, reference.sensitive)
    assert again.feature_names == reference.feature_names
    np.testing.assert_array_equal(again.target_names, reference.target_names)
    again_arrays = _load(key, as_frame=False)
    np.testing.assert_array_equal(again_arrays.target, reference.target.to_numpy())
    assert not (again_arrays.data == -1).all()
    for name, categories in again_arrays.categories.items():
        assert categories == list(reference.data[name].cat.categories)


@pytest.mark.parametrize(
    "call",
    [
        lambda: load_adult(subset="valid"),
        lambda: load_german_credit(as_frame="yes"),
        lambda: load_compas(return_X_y=1),
    ],
)
def test_invalid_parameters_raise(call):
    with pytest.raises(InvalidParameterError):
        call()


def test_loaders_take_keyword_arguments_only():
    with pytest.raises(TypeError):
        load_taiwan_credit(False)


def test_undocumented_codes_raise_instead_of_becoming_missing():
    with pytest.raises(ValueError, match="'purpose'.*A99"):
        _base.decode(pd.Series(["A40", "A99"]), {"A40": "car"}, name="purpose")
    # Codes documented as unknown become NaN.
    decoded = _base.decode(pd.Series([0, 1]), {1: "male", 0: None}, name="sex")
    assert decoded.isna().tolist() == [True, False]
    assert list(decoded.categories) == ["male"]


def test_public_names():
    assert sorted(sklfair.datasets.__all__) == [
        "load_adult",
        "load_compas",
        "load_german_credit",
        "load_taiwan_credit",
    ]


# ------------------------------------------------------------ German credit

# From the UCI documentation (german.doc), attribute 9.
GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male"}
GERMAN_SEX["A95"] = "female"
GERMAN_CATEGORICAL = {
    0: "checking_account_status",
    2: "credit_history",
    3: "purpose",
    5: "savings",
    6: "employment_since",
    8: "personal_status",
    9: "other_debtors",
    11: "property",
    13: "other_installment_plans",
    14: "housing",
    16: "job",
    18: "telephone",
    19: "foreign_worker",
}
GERMAN_NUMERIC = {
    1: "duration_months",
    4: "credit_amount",
    7: "installment_rate",
    10: "residence_since",
    12: "age",
    15: "existing_credits",
    17: "people_liable",
}


@pytest.fixture(scope="module")
def german_raw():
    return _raw_rows("german.data.gz", delimiter=" ")


def test_german_counts_and_target_coding(bunches, german_raw):
    bunch = bunches["german"]
    assert bunch.data.shape == (1000, 22)
    # README: 1,000 rows, 700 good; target 1 = good (raw class 1).
    assert int(bunch.target.sum()) == 700
    assert bunch.target.name == "good_credit"
    raw_good = [int(row[20] == "1") for row in german_raw]
    assert bunch.target.tolist() == raw_good
    assert list(bunch.target_names) == ["bad", "good"]
    assert "1 = good credit risk" in bunch.DESCR


def test_german_sex_and_personal_status_from_attribute_9(bunches, german_raw):
    data = bunches["german"].data
    codes = [row[8] for row in german_raw]
    assert data["sex"].astype(str).tolist() == [GERMAN_SEX[code] for code in codes]
    assert set(data["sex"].cat.categories) == {"male", "female"}
    status = pd.crosstab(pd.Series(codes, name="code"), data["personal_status"])
    assert ((status > 0).sum(axis=1) == 1).all()  # one status per code
    assert status.loc["A93", "single"] == codes.count("A93")
    assert status.loc["A94", "married/widowed"] == codes.count("A94")
    assert "A92" in status.index and not data["personal_status"].isna().any()


def test_german_codes_are_decoded_into_words(bunches, german_raw):
    data = bunches["german"].data
    for position, name in GERMAN_CATEGORICAL.items():
        codes = pd.Series([row[position] for row in german_raw], name="code")
        column = data[name]
        assert isinstance(column.dtype, pd.CategoricalDtype)
        assert not column.isna().any()
        assert not any(str(c).startswith("A") and str(c)[1:].isdigit() for c in column)
        # A one-to-one decoding: each code gives one word and vice versa.
        table = pd.crosstab(codes, column) > 0
        assert (table.sum(axis=0) == 1).all() and (table.sum(axis=1) == 1).all()
    for position, name in GERMAN_NUMERIC.items():
        expected = [int(row[position]) for row in german_raw]
        assert data[name].tolist() == expected
    # A few words of the UCI documentation.
    first = data.iloc[0]  # A11 6 A34 A43 1169 A65 A75 4 A93 ... A201
    assert first["checking_account_status"] == "below 0 DM"
    assert first["purpose"] == "radio/television"
    assert first["employment_since"] == "7 years or more"
    assert first["foreign_worker"] == "yes"
    assert first["sex"] == "male" and first["age"] == 67


def test_german_age_band_counts(bunches, german_raw):
    young = sum(int(row[12]) < 25 for row in german_raw)
    assert (bunches["german"].data["age_band"] == "<25").sum() == young


def test_german_data_fits_in_a_pipeline(bunches):
    bunch = bunches["german"]
    X = bunch.data.drop(columns=["sex", "age_band"])
    categorical = X.select_dtypes("category").columns
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            remainder=StandardScaler(),
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(X, bunch.target)
    assert model.score(X, bunch.target) > 0.7


# ------------------------------------------------------------ Taiwan credit


@pytest.fixture(scope="module")
def taiwan_raw():
    rows = _raw_rows("taiwan_credit_default.csv.gz")
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_taiwan_counts_and_target(bunches, taiwan_raw):
    bunch = bunches["taiwan"]
    assert bunch.data.shape == (30000, 24)
    assert "id" not in bunch.data.columns
    assert bunch.target.name == "default"
    # README: 6,636 defaults; SEX 11,888 male / 18,112 female.
    assert int(bunch.target.sum()) == 6636
    assert bunch.data["sex"].value_counts().to_dict() == {
        "female": 18112,
        "male": 11888,
    }
    raw_target = taiwan_raw["default.payment.next.month"].astype(int)
    assert bunch.target.tolist() == raw_target.tolist()
    assert list(bunch.target_names) == ["no default", "default"]


def test_taiwan_decoding_and_missing_values(bunches, taiwan_raw):
    data = bunches["taiwan"].data
    raw = taiwan_raw.astype(float).astype(int)
    documented = {
        "SEX": {1: "male", 2: "female"},
        "EDUCATION": {
            1: "graduate school",
            2: "university",
            3: "high school",
            4: "others",
        },
        "MARRIAGE": {1: "married", 2: "single", 3: "others"},
    }
    for raw_name, words in documented.items():
        column = data[raw_name.lower()]
        assert isinstance(column.dtype, pd.CategoricalDtype)
        assert set(column.cat.categories) == set(words.values())
        expected = [words.get(code) for code in raw[raw_name]]  # else NaN
        got = [None if pd.isna(x) else x for x in column.astype(object)]
        assert got == expected, raw_name
    assert data["education"].isna().sum() == raw["EDUCATION"].isin([0, 5, 6]).sum()
    assert data["marriage"].isna().sum() == (raw["MARRIAGE"] == 0).sum() > 0
    for raw_name in raw.columns:
        name = raw_name.lower()
        if raw_name not in documented and name in data.columns:
            assert data[name].tolist() == raw[raw_name].tolist(), name
    assert "pay_0" in data.columns and "limit_bal" in data.columns


# -------------------------------------------------------------------- Adult

ADULT_MISSING = {  # '?' in the files
    "train": {"workclass": 1836, "occupation": 1843, "native_country": 583},
    "test": {"workclass": 963, "occupation": 966, "native_country": 274},
}


@pytest.mark.parametrize(
    "subset, filename, skip",
    [("train", "adult.data.gz", 0), ("test", "adult.test.gz", 1)],
)
def test_adult_splits_match_the_raw_files(bunches, subset, filename, skip):
    bunch = bunches[f"adult_{subset}"]
    raw = _raw_rows(filename, skip=skip)
    assert len(raw) == len(bunch.data) == N_ROWS[f"adult_{subset}"]
    assert bunch.data.shape[1] == 15
    labels = [row[14].rstrip(".") for row in raw]
    assert bunch.target.tolist() == [int(label == ">50K") for label in labels]
    assert bunch.target.name == "income_over_50k"
    assert list(bunch.target_names) == ["<=50K", ">50K"]
    columns = [
        "workclass",
        "education",
        "marital_status",
        "occupation",
        "relationship",
        "race",
        "sex",
        "native_country",
    ]
    positions = [1, 3, 5, 6, 7, 8, 9, 13]
    for name, position in zip(columns, positions):
        expected = [None if row[position] == "?" else row[position] for row in raw]
        got = [None if pd.isna(x) else x for x in bunch.data[name].astype(object)]
        assert got == expected, name
        assert got.count(None) == ADULT_MISSING[subset].get(name, 0)
    assert bunch.data["age"].tolist() == [int(row[0]) for row in raw]
    assert bunch.data["hours_per_week"].tolist() == [int(row[12]) for row in raw]


def test_adult_target_balance_and_splits(bunches):
    train, test = bunches["adult_train"], bunches["adult_test"]
    everything = bunches["adult_all"]
    # adult.names: P(>50K) = 23.93% over all 48,842 rows.
    assert round(everything.target.mean(), 4) == 0.2393
    assert int(train.target.sum()) + int(test.target.sum()) == everything.target.sum()
    assert isinstance(test.data.index, pd.RangeIndex) and test.data.index[0] == 0
    assert_frame_equal(
        everything.data.iloc[len(train.data) :].reset_index(drop=True), test.data
    )
    for name in train.data.select_dtypes("category"):
        assert train.data[name].dtype == test.data[name].dtype, name
    assert not test.target.index.duplicated().any()
    assert set(train.data["sex"].cat.categories) == {"Female", "Male"}


# ------------------------------------------------------------------- COMPAS


def test_compas_follows_propublica(bunches):
    bunch = bunches["compas"]
    header, *rows = _raw_rows("compas-scores-two-years.csv.gz")
    col = {name: header.index(name) for name in reversed(header)}  # first copy
    kept = [
        row
        for row in rows
        if row[col["days_b_screening_arrest"]] != ""
        and -30 <= float(row[col["days_b_screening_arrest"]]) <= 30
        and row[col["is_recid"]] != "-1"
        and row[col["c_charge_degree"]] != "O"
        and row[col["score_text"]] != "N/A"
    ]
    assert len(kept) == len(bunch.data) == 6172  # README
    frame = bunch.frame
    for name in ["age", "priors_count", "juv_fel_count", "decile_score"]:
        assert frame[name].tolist() == [int(row[col[name]]) for row in kept], name
    for name in ["sex", "race", "age_cat", "score_text"]:
        assert frame[name].astype(str).tolist() == [row[col[name]] for row in kept]
    degree = {"F": "felony", "M": "misdemeanor"}
    assert frame["c_charge_degree"].astype(str).tolist() == [
        degree[row[col["c_charge_degree"]]] for row in kept
    ]
    assert bunch.target.tolist() == [int(row[col["two_year_recid"]]) for row in kept]


def test_compas_columns_and_counts(bunches):
    bunch = bunches["compas"]
    assert bunch.feature_names == [
        "sex",
        "age",
        "age_cat",
        "race",
        "juv_fel_count",
        "juv_misd_count",
        "juv_other_count",
        "priors_count",
        "c_charge_degree",
    ]
    assert bunch.target.name == "two_year_recid"
    assert list(bunch.frame.columns) == [
        *bunch.feature_names,
        "decile_score",
        "score_text",
        "two_year_recid",
    ]
    assert "decile_score" not in bunch.data and "score_text" not in bunch.data
    # Counts printed by ProPublica's "Compas Analysis" notebook.
    assert bunch.data["race"].value_counts().to_dict() == {
        "African-American": 3175,
        "Caucasian": 2103,
        "Hispanic": 509,
        "Other": 343,
        "Asian": 31,
        "Native American": 11,
    }
    assert bunch.data["sex"].value_counts().to_dict() == {"Male": 4997, "Female": 1175}
    assert bunch.data["age_cat"].value_counts().to_dict() == {
        "25 - 45": 3532,
        "Less than 25": 1347,
        "Greater than 45": 1293,
    }
    assert list(bunch.frame["score_text"].cat.categories) == ["Low", "Medium", "High"]
    assert "age_band" not in bunch.data
