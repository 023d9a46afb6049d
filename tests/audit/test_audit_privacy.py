"""``--privacy``: the membership-inference attack on every contender.

The section's numbers are those of :func:`sklfair.privacy.membership_inference`
called here on the same fitted model, rows and seed; the command line prints
the attack's table only when asked (the audit without ``--privacy`` is in
tests/audit/test_output.py: no ``privacy.csv`` there).
"""

import contextlib
import io

import pandas as pd
import pytest
from audit_cases import SEED, contenders, german_audit
from sklearn.model_selection import train_test_split

import sklfair.audit._run as run_module
from sklfair.__main__ import main
from sklfair.audit import N_REFERENCES, TEST_SIZE, format_privacy_table
from sklfair.privacy import membership_inference

SENSITIVE = ["sex", "age_band"]


def test_privacy_adds_the_attack_columns():
    result, out = german_audit(privacy=True)
    table = pd.read_csv(out / "privacy.csv", index_col="model")
    assert list(table.index) == list(result.table.index)
    assert list(table.columns) == [
        "attack AUC",
        "advantage",
        "p-value",
        *[f"{what} {a}" for a in SENSITIVE for what in ("advantage", "group")],
    ]
    assert "membership inference" in format_privacy_table(result.privacy)
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="privacy">')[1].split("<h2 ")[0]
    assert ">Attack AUC</abbr>" in section
    assert ">Largest group advantage (age_band)</abbr>" in section


def test_attack_numbers_match_membership_inference():
    result, _ = german_audit(privacy=True)
    data = result.data
    # the audit's documented split: the training rows in its order
    train_rows, test_rows = train_test_split(
        range(len(data.X)), test_size=TEST_SIZE, stratify=data.y, random_state=SEED
    )
    assert list(test_rows) == list(result.test_index)
    X_train, y_train = data.X.iloc[train_rows], data.y.iloc[train_rows]
    X_test, y_test = data.X.iloc[test_rows], data.y.iloc[test_rows]
    name = "logistic regression"
    attack = membership_inference(
        result.models[name],
        X_train,
        y_train,
        X_test,
        y_test,
        n_references=N_REFERENCES,
        random_state=SEED,
    )
    row = result.privacy.table.loc[name]
    assert row["attack AUC"] == pytest.approx(attack.auc)
    assert row["advantage"] == pytest.approx(attack.advantage)
    for attribute in SENSITIVE:
        by_group = attack.for_groups(
            (X_train[attribute].to_numpy(), X_test[attribute].to_numpy())
        )
        assert row[f"advantage {attribute}"] == pytest.approx(
            by_group["advantage"].max()
        )
        pd.testing.assert_frame_equal(
            result.privacy.by_group[name][attribute], by_group
        )


def test_the_command_line_prints_the_attack_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "make_contenders", contenders)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(
            ["audit", "--dataset", "german", "--privacy", "--approval-rate", "0.6"]
            + ["--seed", str(SEED), "--out", str(tmp_path / "report")]
        )
    assert status == 0, stderr.getvalue()
    printed = stdout.getvalue()
    assert "credit at an approval rate of 0.6" in printed
    _, table = printed.split("membership inference (")[1].split("\n", 1)
    assert "attack AUC" in table.splitlines()[0]
    assert "membership inference ..." in stderr.getvalue()
    assert (tmp_path / "report" / "privacy.csv").is_file()
    credit = pd.read_csv(tmp_path / "report" / "credit.csv", index_col="model")
    assert (credit["approval rate"] - 0.6).abs().max() < 1 / 300
