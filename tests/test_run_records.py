"""The run records' one reader: what the writers wrote reads back as the same typed record, a record missing a
declared key is named in one line, and a training time is defined once."""

import json

import pytest
from records import async_result

from evrepro.training.record import (AsyncResult, Compute, ModelRecord, RecordError, MetricsRecord, read_record,
                                     read_run_records, write_record)

MODEL = ModelRecord(family="aegnn", architecture="GraphRes", config={"channels": [8]}, training={"epochs": 3}, seed=1,
                    device="cpu", threads=2, parameters=10, non_trainable_parameters=4,
                    compute=Compute(wall_s=5400.0, cpu_s=9000.0, peak_rss_mb=300.0, jobs=2))
TEST = MetricsRecord(family="aegnn", seed=1, test_accuracy=0.5, test_top3_accuracy=0.9, test_loss=1.2, test_samples=8,
                  best_epoch=2, best_val_accuracy=0.6, parameters=10, device="cpu")


def test_each_record_reads_back_as_written(tmp_path):
    for record in (MODEL, TEST, async_result(0.4, 2.0)):
        write_record(tmp_path / "record.json", record)
        assert read_record(type(record), tmp_path / "record.json") == record
    assert MODEL.compute.train_hours == 1.5


def test_the_records_of_a_run_and_seed_are_read_together(tmp_path):
    folder = tmp_path / "results/runs/a/seed-1"
    folder.mkdir(parents=True)
    write_record(folder / "metrics.json", TEST)
    write_record(folder / "model.json", MODEL)
    write_record(folder / "async.json", async_result(0.4, 2.0))
    (record,) = read_run_records([folder / "metrics.json"], [folder / "model.json"], [folder / "async.json"])
    assert (record.run, record.seed) == ("a", 1)
    assert record.model == MODEL and record.test == TEST and record.asynchronous.flops.async_mflops_per_event == 0.4
    (record,) = read_run_records([folder / "metrics.json"], [folder / "model.json"])
    assert record.asynchronous is None
    with pytest.raises(RecordError, match=r"metrics\.json: no model\.json of run a seed 1"):
        read_run_records([folder / "metrics.json"], [])


def test_a_record_missing_a_key_is_named_in_one_line(tmp_path):
    write_record(tmp_path / "async.json", async_result(0.4, 2.0))
    data = json.loads((tmp_path / "async.json").read_text())
    del data["latency_ms_per_event"]["dense"]["median"]
    (tmp_path / "async.json").write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"^\S*async\.json\.latency_ms_per_event\.dense: lacks median \(") as error:
        read_record(AsyncResult, tmp_path / "async.json")
    assert "\n" not in str(error.value)


def test_a_record_from_before_the_typed_reader_still_reads(tmp_path):
    """model.json and metrics.json of earlier trainings carried a second training time; it is ignored."""
    from dataclasses import asdict

    (tmp_path / "model.json").write_text(json.dumps({**asdict(MODEL), "train_wall_time_s": 12.0}))
    assert read_record(ModelRecord, tmp_path / "model.json") == MODEL
