"""feature_origins: transformed columns traced to their input columns by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from sklfair._feature_origins import feature_origins


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 60
    return pd.DataFrame(
        {
            "city": rng.choice(["a", "b", "c"], n),
            "city_zone": rng.choice(["x", "y"], n),  # a name prefixed by another
            "income": rng.normal(size=n),
            "age": rng.randint(18, 70, n).astype(float),
            "unused": rng.normal(size=n),
        }
    )


def origins_by_name(transformer, X):
    names, origins = feature_origins(transformer, X.columns)
    return {str(n): (X.columns[o] if o >= 0 else None) for n, o in zip(names, origins)}


def test_column_transformer_one_hot_on_several_columns(frame):
    ct = ColumnTransformer(
        [
            ("cat", OneHotEncoder(), ["city", "city_zone"]),
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), [2, 3]),
            ("gone", "drop", ["unused"]),
        ]
    ).fit(frame)
    got = origins_by_name(ct, frame)
    assert got == {
        "cat__city_a": "city",
        "cat__city_b": "city",
        "cat__city_c": "city",
        "cat__city_zone_x": "city_zone",
        "cat__city_zone_y": "city_zone",
        "num__income": "income",
        "num__age": "age",
    }


def test_pipelines_remainder_and_binned_columns(frame):
    ct = make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
            ["city"],
        ),
        (
            KBinsDiscretizer(n_bins=3, quantile_method="averaged_inverted_cdf"),
            ["age", "income"],
        ),
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    X = frame.drop(columns="city_zone")
    model = make_pipeline(ct, StandardScaler()).fit(X)
    got = origins_by_name(model, X)
    assert [got[f"city_{c}"] for c in "abc"] == ["city"] * 3
    assert {v for k, v in got.items() if k.startswith("age_")} == {"age"}
    assert {v for k, v in got.items() if k.startswith("income_")} == {"income"}
    assert got["unused"] == "unused"
    assert len(got) == 3 + 3 + 3 + 1


def test_mixed_columns_have_no_single_origin(frame):
    numbers = frame[["income", "age"]]
    poly = PolynomialFeatures(2).fit(numbers)
    got = origins_by_name(poly, numbers)
    assert got["income"] == "income" and got["age"] == "age"
    assert got["income age"] is None
    pca = PCA(2).fit(numbers)
    assert set(origins_by_name(pca, numbers).values()) == {None}
