"""ASL-DVS .mat, Gen1 bbox .npy, N-Caltech101 annotation .bin and Prophesee .dat headers: real layouts, round
trips and bad input named by file and value."""

import struct

import numpy as np
import pytest
import scipy.io

from evrepro.events import EVENT_DTYPE, EventFormatError, make_events, read, write
from evrepro.events.annotations import read_annotation, write_annotation
from evrepro.events.boxes import BOX_DTYPE, CURRENT_BBOX_DTYPE, LEGACY_BBOX_DTYPE, read_boxes, write_boxes
from evrepro.events.matlab import read_asl_mat, write_asl_mat
from evrepro.events.prophesee import dat_sensor_size, read_dat_header, read_prophesee_dat, write_prophesee_dat


def random_events(seed, n, width, height):
    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, 5_000_000, n)), rng.integers(0, width, n),
                       rng.integers(0, height, n), rng.integers(0, 2, n))


# ---------------------------------------------------------------- ASL-DVS .mat

def save_columns(path, **columns):
    """A .mat file as MATLAB writes ASL-DVS recordings: v5, every variable an N×1 column."""
    scipy.io.savemat(path, {name: np.asarray(values).reshape(-1, 1) for name, values in columns.items()}, format="5")


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint16"])
def test_asl_mat_round_trip_stores_columns_of_the_chosen_dtype(tmp_path, dtype):
    events = random_events(1, 3000, 240, 180)
    if dtype == "uint16":
        events["t"] %= 2**16
    write_asl_mat(tmp_path / "a.mat", events, dtype=dtype)
    stored = scipy.io.loadmat(tmp_path / "a.mat")
    assert scipy.io.matlab.matfile_version(tmp_path / "a.mat") == (1, 0)  # level 5
    for name in ("ts", "x", "y", "pol"):
        assert stored[name].dtype == np.dtype(dtype) and stored[name].shape == (3000, 1)
    back = read_asl_mat(tmp_path / "a.mat")
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, events)


def test_asl_mat_saved_as_doubles_and_as_integers_reads_the_same(tmp_path):
    t, x, y, p = [0, 17, 17, 2_000_123], [0, 239, 5, 120], [179, 0, 3, 90], [1, 0, 0, 1]
    save_columns(tmp_path / "doubles.mat", ts=np.array(t, float), x=np.array(x, float), y=np.array(y, float),
                 pol=np.array(p, float))
    save_columns(tmp_path / "ints.mat", ts=np.array(t, np.uint32), x=np.array(x, np.uint8), y=np.array(y, np.int16),
                 pol=np.array(p, bool))
    assert scipy.io.loadmat(tmp_path / "doubles.mat")["x"].dtype == np.float64
    assert scipy.io.loadmat(tmp_path / "ints.mat")["ts"].dtype == np.uint32
    for name in ("doubles.mat", "ints.mat"):
        events = read_asl_mat(tmp_path / name)
        assert events["t"].tolist() == t and events["x"].tolist() == x
        assert events["y"].tolist() == y and events["p"].tolist() == p


def test_events_read_on_a_mat_file_keeps_the_files_own_y(tmp_path):
    save_columns(tmp_path / "a_0001.mat", ts=[5.0, 9.0], x=[1.0, 2.0], y=[0.0, 170.0], pol=[0.0, 1.0])
    events = read(tmp_path / "a_0001.mat")
    assert events.dtype == EVENT_DTYPE
    assert events["y"].tolist() == [0, 170]  # not flipped to 179 - y
    assert events["x"].tolist() == [1, 2] and events["t"].tolist() == [5, 9]
    write(tmp_path / "copy.mat", events)
    np.testing.assert_array_equal(read(tmp_path / "copy.mat"), events)


GOOD = {"ts": [1.0, 2.0], "x": [1.0, 2.0], "y": [1.0, 2.0], "pol": [0.0, 1.0]}


@pytest.mark.parametrize("columns, message", [
    ({"ts": [1.0], "x": [1.0], "y": [1.0]}, r"variable 'pol' is missing \(variables found: \['ts', 'x', 'y'\]\)"),
    ({**GOOD, "x": [1.0, 2.0, 3.0]}, r"columns differ in length: .*'x': 3"),
    ({**GOOD, "x": [1.0, 2.5]}, r"variable 'x' element 1 is 2.5, not a whole number"),
    ({**GOOD, "ts": [1.0, np.nan]}, r"variable 'ts' element 1 is nan, not a whole number"),
    ({**GOOD, "ts": np.array([4, -3])}, r"variable 'ts' element 1 is -3, negative"),
    ({**GOOD, "pol": [0.0, 2.0]}, r"variable 'pol' element 1 is 2.0, above 1"),
    ({**GOOD, "x": np.array([1, 70000])}, r"variable 'x' element 1 is 70000, above 65535"),
], ids=["missing", "lengths", "fraction", "nan", "negative", "polarity", "too_large"])
def test_asl_mat_bad_values_are_refused_naming_file_variable_and_value(tmp_path, columns, message):
    save_columns(tmp_path / "bad_rec.mat", **columns)
    with pytest.raises(EventFormatError, match=r"bad_rec\.mat: " + message):
        read_asl_mat(tmp_path / "bad_rec.mat")


def test_asl_mat_matrix_and_text_variables_are_refused(tmp_path):
    scipy.io.savemat(tmp_path / "matrix.mat", {"ts": np.ones((2, 3)), "x": [[1.0]], "y": [[1.0]], "pol": [[1.0]]},
                     format="5")
    with pytest.raises(EventFormatError, match=r"matrix\.mat: variable 'ts' is a float64 array of shape \(2, 3\)"):
        read_asl_mat(tmp_path / "matrix.mat")
    scipy.io.savemat(tmp_path / "text.mat", {"ts": "abc", "x": [[1.0]], "y": [[1.0]], "pol": [[1.0]]}, format="5")
    with pytest.raises(EventFormatError, match=r"text\.mat: variable 'ts' is a <U3 array"):
        read_asl_mat(tmp_path / "text.mat")


def test_asl_mat_garbage_and_truncated_files_are_refused_naming_the_file(tmp_path):
    (tmp_path / "noise.mat").write_bytes(b"this is no MATLAB file " * 10)
    with pytest.raises(EventFormatError, match=r"noise\.mat: not a readable MATLAB v5 file"):
        read(tmp_path / "noise.mat")
    write_asl_mat(tmp_path / "whole.mat", random_events(2, 100, 240, 180))
    raw = (tmp_path / "whole.mat").read_bytes()
    for cut in (50, 127, 200, len(raw) // 2):
        (tmp_path / "cut.mat").write_bytes(raw[:cut])
        with pytest.raises(EventFormatError, match=r"cut\.mat: not a readable MATLAB v5 file"):
            read_asl_mat(tmp_path / "cut.mat")


def test_asl_mat_writer_refuses_values_the_dtype_cannot_hold(tmp_path):
    events = make_events([0, 1], [3, 300], [1, 1], [0, 1])
    with pytest.raises(EventFormatError, match=r"small\.mat: event 1 has x=300, which int8 cannot hold"):
        write_asl_mat(tmp_path / "small.mat", events, dtype="int8")
    with pytest.raises(EventFormatError, match=r"late\.mat: event 0 has t=9007199254740993"):
        write_asl_mat(tmp_path / "late.mat", make_events([2**53 + 1], [0], [0], [0]))


# ---------------------------------------------------------------- Gen1 bbox .npy

# The real dtypes, spelled out independently of the module (Gen1's _bbox.npy, as the Prophesee automotive
# dataset toolbox documents it)
REAL_LEGACY = np.dtype([("ts", "<u8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"), ("class_id", "u1"),
                        ("confidence", "<f4"), ("track_id", "<u4")])
REAL_CURRENT = np.dtype({"names": ["t", "x", "y", "w", "h", "class_id", "track_id", "class_confidence"],
                         "formats": ["<i8", "<f4", "<f4", "<f4", "<f4", "<u4", "<u4", "<f4"],
                         "offsets": [0, 8, 12, 16, 20, 24, 28, 32], "itemsize": 40})


def some_boxes(n=6):
    rng = np.random.default_rng(3)
    boxes = np.zeros(n, dtype=BOX_DTYPE)
    boxes["t"] = np.sort(rng.integers(0, 60_000_000, n))
    for field in ("x", "y", "w", "h"):
        boxes[field] = rng.uniform(0, 300, n).astype(np.float32)
    boxes["class_id"] = rng.integers(0, 2, n)
    boxes["track_id"] = rng.integers(0, 5000, n)
    boxes["confidence"] = rng.uniform(0, 1, n).astype(np.float32)
    return boxes


def test_bbox_module_dtypes_are_the_real_ones():
    assert LEGACY_BBOX_DTYPE == REAL_LEGACY and LEGACY_BBOX_DTYPE.names == REAL_LEGACY.names
    assert CURRENT_BBOX_DTYPE == REAL_CURRENT and CURRENT_BBOX_DTYPE.itemsize == 40
    assert CURRENT_BBOX_DTYPE.names == ("t", "x", "y", "w", "h", "class_id", "track_id", "class_confidence")


@pytest.mark.parametrize("variant, real", [("legacy", REAL_LEGACY), ("current", REAL_CURRENT)])
def test_bbox_round_trip_writes_the_real_dtype(tmp_path, variant, real):
    boxes = some_boxes()
    write_boxes(tmp_path / "rec_bbox.npy", boxes, variant=variant)
    stored = np.load(tmp_path / "rec_bbox.npy", allow_pickle=False)
    assert stored.dtype == real and stored.dtype.itemsize == real.itemsize
    assert stored[real.names[0]].tolist() == boxes["t"].tolist()
    back = read_boxes(tmp_path / "rec_bbox.npy")
    assert back.dtype == BOX_DTYPE
    np.testing.assert_array_equal(back, boxes)


def test_bbox_files_saved_with_numpy_in_both_variants_read_by_field_name(tmp_path):
    legacy = np.array([(500_000, 10.5, 20.0, 30.0, 40.0, 1, 0.75, 17)], dtype=REAL_LEGACY)
    current = np.zeros(1, dtype=REAL_CURRENT)
    current[0] = (500_000, 10.5, 20.0, 30.0, 40.0, 1, 17, 0.75)
    np.save(tmp_path / "legacy_bbox.npy", legacy)
    np.save(tmp_path / "current_bbox.npy", current)
    for name in ("legacy_bbox.npy", "current_bbox.npy"):
        box = read_boxes(tmp_path / name)[0]
        assert (int(box["t"]), float(box["x"]), float(box["w"]), float(box["h"])) == (500_000, 10.5, 30.0, 40.0)
        assert (int(box["class_id"]), int(box["track_id"]), float(box["confidence"])) == (1, 17, 0.75)


def test_bbox_missing_field_is_refused_listing_the_fields_found(tmp_path):
    np.save(tmp_path / "no_h_bbox.npy", np.zeros(2, dtype=[("ts", "<u8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"),
                                                           ("class_id", "u1"), ("confidence", "<f4"),
                                                           ("track_id", "<u4")]))
    with pytest.raises(EventFormatError, match=r"no_h_bbox\.npy: no field 'h' \(fields found: \['ts', 'x', 'y', "
                                               r"'w', 'class_id', 'confidence', 'track_id'\]\)"):
        read_boxes(tmp_path / "no_h_bbox.npy")
    np.save(tmp_path / "plain.npy", np.zeros((3, 8)))
    with pytest.raises(EventFormatError, match=r"plain\.npy: holds ndarray \(3, 8\), not a 1-D array of boxes"):
        read_boxes(tmp_path / "plain.npy")
    np.save(tmp_path / "flat.npy", np.zeros(3))
    with pytest.raises(EventFormatError, match=r"flat\.npy: no field 'ts' or 't' \(fields found: \[\]\)"):
        read_boxes(tmp_path / "flat.npy")


def test_bbox_out_of_range_values_are_refused_naming_box_and_value(tmp_path):
    legacy = np.zeros(2, dtype=REAL_LEGACY)
    legacy["ts"] = [1, 2**63]
    np.save(tmp_path / "huge_bbox.npy", legacy)
    with pytest.raises(EventFormatError, match=r"huge_bbox\.npy: box 1 has ts=9223372036854775808, outside"):
        read_boxes(tmp_path / "huge_bbox.npy")
    boxes = some_boxes(3)
    boxes["class_id"][2] = 300
    with pytest.raises(EventFormatError, match=r"out_bbox\.npy: box 2 has class_id=300, outside \[0, 255\]"):
        write_boxes(tmp_path / "out_bbox.npy", boxes, variant="legacy")
    boxes = some_boxes(3)
    boxes["t"][0] = -5
    with pytest.raises(EventFormatError, match=r"neg_bbox\.npy: box 0 has t=-5, outside \[0, "):
        write_boxes(tmp_path / "neg_bbox.npy", boxes, variant="legacy")
    text = np.zeros(1, dtype=[("t", "<i8"), ("x", "U3"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
                              ("class_id", "<u4"), ("track_id", "<u4"), ("class_confidence", "<f4")])
    np.save(tmp_path / "text_bbox.npy", text)
    with pytest.raises(EventFormatError, match=r"text_bbox\.npy: field 'x' holds <U3, not numbers"):
        read_boxes(tmp_path / "text_bbox.npy")


def test_bbox_garbage_pickled_and_truncated_files_are_refused_naming_the_file(tmp_path):
    (tmp_path / "noise_bbox.npy").write_bytes(b"not numpy at all")
    np.save(tmp_path / "pickled_bbox.npy", np.array([{"ts": 1}], dtype=object), allow_pickle=True)
    write_boxes(tmp_path / "whole_bbox.npy", some_boxes(), variant="current")
    raw = (tmp_path / "whole_bbox.npy").read_bytes()
    (tmp_path / "cut_bbox.npy").write_bytes(raw[:-7])
    (tmp_path / "empty_bbox.npy").write_bytes(b"")
    for name in ("noise_bbox.npy", "pickled_bbox.npy", "cut_bbox.npy", "empty_bbox.npy"):
        with pytest.raises(EventFormatError, match=name.replace(".", r"\.") + ": not a readable .npy file"):
            read_boxes(tmp_path / name)


def test_bbox_writer_refuses_an_unknown_variant(tmp_path):
    with pytest.raises(ValueError, match="'modern'"):
        write_boxes(tmp_path / "x_bbox.npy", some_boxes(), variant="modern")


# ---------------------------------------------------------------- N-Caltech101 annotation .bin

def annotation_bytes(*values):
    return struct.pack(f"<{len(values)}h", *values)


BOX = [(110, 80), (10, 80), (10, 20), (110, 20)]  # starts at the bottom-right corner: xywh needs min/max
CONTOUR = [(15, 25), (60, 22), (105, 40), (100, 75), (50, 78), (12, 70), (11, 40)]
REAL_FILE = annotation_bytes(2, 4, *np.ravel(BOX), 2, len(CONTOUR), *np.ravel(CONTOUR))


def test_annotation_reads_box_corners_contour_and_xywh(tmp_path):
    (tmp_path / "annotation_0001.bin").write_bytes(REAL_FILE)
    annotation = read_annotation(tmp_path / "annotation_0001.bin")
    assert annotation.box.dtype == np.int16 and annotation.box.shape == (4, 2)
    assert [tuple(corner) for corner in annotation.box.tolist()] == BOX
    assert annotation.contour.shape == (7, 2)
    assert [tuple(point) for point in annotation.contour.tolist()] == CONTOUR
    assert annotation.xywh == (10, 20, 100, 60)
    # the corners are elements [2:10] of the file, as AEGNN, asynet and DAGr take them
    assert np.fromfile(tmp_path / "annotation_0001.bin", dtype="<i2")[2:10].tolist() == np.ravel(BOX).tolist()


def test_annotation_round_trip_is_byte_exact(tmp_path):
    write_annotation(tmp_path / "a.bin", BOX, CONTOUR)
    assert (tmp_path / "a.bin").read_bytes() == REAL_FILE
    again = read_annotation(tmp_path / "a.bin")
    write_annotation(tmp_path / "b.bin", again.box, again.contour)
    assert (tmp_path / "b.bin").read_bytes() == REAL_FILE
    write_annotation(tmp_path / "negative.bin", [(-3, -4), (5, -4), (5, 6), (-3, 6)], np.zeros((0, 2)))
    annotation = read_annotation(tmp_path / "negative.bin")
    assert annotation.xywh == (-3, -4, 8, 10) and annotation.contour.shape == (0, 2)


BOX_VALUES = (2, 4, *np.ravel(BOX))
CONTOUR_HEADER = (2, len(CONTOUR))


@pytest.mark.parametrize("data, message", [
    (REAL_FILE + b"\x01", r"53 bytes is not a whole number of int16 values \(byte 52 is left over\)"),
    (annotation_bytes(2), r"ends at byte 2 inside the box header at byte 0"),
    (annotation_bytes(3, 4, *np.ravel(BOX)), r"box header at byte 0 has rows=3, expected 2"),
    (annotation_bytes(2, 5, *np.ravel(BOX), 0, 0), r"box header at byte 2 has cols=5, expected 4"),
    (annotation_bytes(2, 4, 1, 2, 3), r"box at byte 4 declares 4 points \(16 bytes\) but the file ends at byte 10"),
    (annotation_bytes(*BOX_VALUES), r"ends at byte 20 inside the contour header at byte 20"),
    (annotation_bytes(*BOX_VALUES, 7, 2), r"contour header at byte 20 has rows=7, expected 2"),
    (annotation_bytes(*BOX_VALUES, 2, -1), r"contour header at byte 22 has cols=-1, expected a count >= 0"),
    (REAL_FILE[:-4], r"contour at byte 24 declares 7 points \(28 bytes\) but the file ends at byte 48"),
    (REAL_FILE + annotation_bytes(99), r"2 bytes follow the contour, from byte 52 \(value 99\)"),
], ids=["odd_size", "cut_box_header", "box_rows", "box_cols", "cut_box", "no_contour_header", "contour_rows",
        "contour_cols", "cut_contour", "trailing"])
def test_annotation_bad_files_are_refused_naming_file_offset_and_value(tmp_path, data, message):
    (tmp_path / "annotation_0042.bin").write_bytes(data)
    with pytest.raises(EventFormatError, match=r"annotation_0042\.bin: " + message):
        read_annotation(tmp_path / "annotation_0042.bin")


def test_annotation_writer_refuses_bad_shapes_and_values(tmp_path):
    with pytest.raises(EventFormatError, match=r"w\.bin: box has shape \(3, 2\), expected \(4, 2\)"):
        write_annotation(tmp_path / "w.bin", BOX[:3], CONTOUR)
    with pytest.raises(EventFormatError, match=r"w\.bin: contour has shape \(7,\)"):
        write_annotation(tmp_path / "w.bin", BOX, np.arange(7))
    with pytest.raises(EventFormatError, match=r"w\.bin: contour value 40000 is not an int16"):
        write_annotation(tmp_path / "w.bin", BOX, [(1, 2), (3, 40000)])
    with pytest.raises(EventFormatError, match=r"w\.bin: box value 20.5 is not an int16"):
        write_annotation(tmp_path / "w.bin", [(110, 80), (10, 80), (10, 20.5), (110, 20)], CONTOUR)


# ---------------------------------------------------------------- Prophesee .dat headers

GEN1_HEADER = ("Data file containing Event2D events", "Version 2", "Date 2019-03-13 14:48:47", "Height 240",
               "Width 304")
NCARS_HEADER = ("Data file containing N9Chronocam7Event2dE events.", "Version 2", "Date 2017-10-31 11:29:21")


def test_gen1_header_round_trip_declares_the_sensor_size(tmp_path):
    events = random_events(4, 4000, 304, 240)
    write_prophesee_dat(tmp_path / "rec_td.dat", events, header_lines=GEN1_HEADER)
    assert (tmp_path / "rec_td.dat").read_bytes().startswith(b"% Data file containing Event2D events\n% Version 2\n")
    header = read_dat_header(tmp_path / "rec_td.dat")
    assert header == {"data": "file containing Event2D events", "version": "2", "date": "2019-03-13 14:48:47",
                      "height": "240", "width": "304"}
    assert dat_sensor_size(header) == (304, 240)
    np.testing.assert_array_equal(read_prophesee_dat(tmp_path / "rec_td.dat"), events)
    assert events["x"].max() == 303 and events["y"].max() == 239  # the whole sensor is allowed


def test_ncars_header_declares_no_size_and_bounds_nothing(tmp_path):
    events = make_events([0, 10], [500, 2], [1, 900], [1, 0])
    write_prophesee_dat(tmp_path / "obj_004396_td.dat", events, header_lines=NCARS_HEADER)
    header = read_dat_header(tmp_path / "obj_004396_td.dat")
    assert header["data"] == "file containing N9Chronocam7Event2dE events." and header["version"] == "2"
    assert "width" not in header and dat_sensor_size(header) is None
    np.testing.assert_array_equal(read(tmp_path / "obj_004396_td.dat"), events)
    assert dat_sensor_size({"width": "304"}) is None


@pytest.mark.parametrize("field, value", [("x", 304), ("y", 240)])
def test_events_outside_the_declared_sensor_are_refused_naming_event_and_value(tmp_path, field, value):
    events = make_events([0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 1, 0])
    events[field][2] = value
    write_prophesee_dat(tmp_path / "outside_td.dat", events, header_lines=GEN1_HEADER)
    high = 303 if field == "x" else 239
    with pytest.raises(EventFormatError, match=rf"outside_td\.dat: event 2 has {field}={value}, outside \[0, {high}\]"):
        read(tmp_path / "outside_td.dat")


def test_dat_header_is_read_without_the_records(tmp_path):
    write_prophesee_dat(tmp_path / "cut_td.dat", random_events(5, 10, 304, 240), header_lines=GEN1_HEADER)
    raw = (tmp_path / "cut_td.dat").read_bytes()
    (tmp_path / "cut_td.dat").write_bytes(raw[:-3])  # records truncated: the full reader refuses the file
    with pytest.raises(EventFormatError, match="not a whole number of 8-byte records"):
        read_prophesee_dat(tmp_path / "cut_td.dat")
    assert read_dat_header(tmp_path / "cut_td.dat")["width"] == "304"
    write_prophesee_dat(tmp_path / "bare.dat", random_events(5, 10, 304, 240), header_lines=())
    assert read_dat_header(tmp_path / "bare.dat") == {}


def test_bad_sensor_size_in_a_header_is_refused_naming_file_and_value(tmp_path):
    write_prophesee_dat(tmp_path / "odd_td.dat", random_events(6, 5, 30, 30), header_lines=("Height 240", "Width 3O4"))
    with pytest.raises(EventFormatError, match=r"odd_td\.dat: header declares width '3O4', not a positive whole"):
        read_prophesee_dat(tmp_path / "odd_td.dat")
    (tmp_path / "torn_td.dat").write_bytes(b"% Height 240\n% Wid")
    with pytest.raises(EventFormatError, match=r"torn_td\.dat: header line 2 at byte 13 has no end of line"):
        read_dat_header(tmp_path / "torn_td.dat")
