"""Images as people have them, and bad inputs: a correct result or a typed error naming the file."""
import numpy as np
import pytest
from PIL import Image

from blazepose import ImageReadError, InputError
from blazepose.io.images import as_rgb, read_image
from conftest import REFERENCE


# ---- bad files: typed error, message names the file ------------------------------------------
def _bad_files(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(good, quality=90)
    data = good.read_bytes()
    trunc = tmp_path / "truncated.jpg"
    trunc.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture\n")
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    return {"missing": (tmp_path / "missing.jpg", "no such file"),
            "empty": (empty, "empty file"),
            "truncated": (trunc, "truncated"),
            "text": (text, "not an image"),
            "directory": (folder, "directory")}


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text", "directory"])
def test_bad_image_file_raises_typed_error_naming_file(kind, tmp_path):
    path, problem = _bad_files(tmp_path)[kind]
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert info.value.path == str(path)


def test_bad_file_through_the_landmarker_is_the_same_error(tmp_path, landmarker_factory):
    path, _ = _bad_files(tmp_path)["text"]
    with pytest.raises(ImageReadError, match="notes.jpg"):
        landmarker_factory("full").process_image(path)


def test_bad_arrays_are_input_errors():
    with pytest.raises(InputError, match="shape"):
        as_rgb(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(InputError, match="no pixels"):
        as_rgb(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(InputError, match="NaN"):
        as_rgb(np.full((4, 4, 3), np.nan, np.float32))


def test_a_side_too_long_for_the_pipeline_is_an_input_error_everywhere(tmp_path, landmarker_factory):
    # OpenCV's warps refuse 32767 px or more on a side: a typed error naming the file, not cv2.error.
    wide = tmp_path / "panorama.png"
    Image.new("L", (32767, 4)).save(wide)
    with pytest.raises(ImageReadError) as info:
        read_image(wide)
    assert str(info.value) == (f"{wide}: image is 32767x4 pixels; sides longer than 32766 pixels are not "
                               "supported (resize it first)")
    pl = landmarker_factory("full")
    with pytest.raises(ImageReadError, match="panorama.png: image is 32767x4 pixels"):
        pl.process_image(wide)
    with pytest.raises(InputError, match="image is 4x32767 pixels"):
        pl.process_image(np.zeros((32767, 4, 3), np.uint8))
    with pytest.raises(InputError, match="image is 32767x4 pixels"):   # a video frame too
        pl.session().process_frame(np.zeros((4, 32767, 3), np.uint8), 0.0)
    assert len(pl.process_image(np.zeros((4, 32766, 3), np.uint8))) == 0   # the longest side that works


@pytest.mark.slow
def test_a_photo_over_the_decoding_limit_is_refused_with_its_size(tmp_path):
    # Pillow's decompression-bomb guard (89.5 M pixels by default), in our words, before decoding.
    limit = Image.MAX_IMAGE_PIXELS
    big, huge = tmp_path / "108mp.png", tmp_path / "192mp.png"
    Image.new("1", (12000, 9000)).save(big)            # 1-bit: a few KB on disk
    Image.new("1", (16000, 12000)).save(huge)
    with pytest.raises(ImageReadError) as info:
        read_image(big)
    assert str(info.value) == (f"{big}: image is 12000x9000 pixels (108.0 M), over the {limit / 1e6:.1f} M-pixel "
                               "limit for decoding (Pillow's decompression-bomb guard, PIL.Image.MAX_IMAGE_PIXELS)")
    with pytest.raises(ImageReadError, match=rf"192mp.png: image is over {2 * limit / 1e6:.1f} M pixels"):
        read_image(huge)


# ---- formats people have ---------------------------------------------------------------------
def test_formats_convert_to_rgb_uint8(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:4, :, 3] = 255   # top half opaque red, bottom half transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    assert tuple(out[0, 0]) == (200, 0, 0) and tuple(out[7, 7]) == (255, 255, 255)

    Image.fromarray(np.full((5, 7), 77, np.uint8), "L").save(tmp_path / "g.png")
    assert tuple(read_image(tmp_path / "g.png")[2, 3]) == (77, 77, 77)

    Image.fromarray(np.full((5, 7), 65535, np.uint16)).save(tmp_path / "d.png")
    g16 = read_image(tmp_path / "d.png")
    assert g16.shape == (5, 7, 3) and g16.max() == 255

    Image.fromarray(np.full((6, 6, 3), (10, 20, 30), np.uint8)).save(tmp_path / "w.webp", lossless=True)
    assert tuple(read_image(tmp_path / "w.webp")[0, 0]) == (10, 20, 30)


def test_exif_orientation_is_applied(tmp_path, landmarker_factory, pose_rgb):
    upright = landmarker_factory("full").process_image(pose_rgb)
    stored = Image.fromarray(pose_rgb).transpose(Image.Transpose.ROTATE_90)   # as a camera stores it
    exif = Image.Exif()
    exif[0x0112] = 6   # "rotate 90 clockwise to display"
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif, quality=95)
    img = read_image(path)
    assert img.shape == pose_rgb.shape
    res = landmarker_factory("full").process_image(path)
    assert np.abs(res.landmarks[0, :, :2] - upright.landmarks[0, :, :2]).max() < 10


def test_very_large_and_tiny_photos(landmarker_factory, pose_rgb):
    import cv2

    big = cv2.resize(pose_rgb, (8000, 5336), interpolation=cv2.INTER_LINEAR)
    pl = landmarker_factory("full")
    ref = pl.process_image(pose_rgb)
    res = pl.process_image(big)
    assert len(res) == 1
    # same landmarks at 8x the scale, within 15 px of the original at the original scale
    assert np.abs(res.landmarks[0, :, :2] / 8 - ref.landmarks[0, :, :2]).max() < 15
    tiny = pl.process_image(np.zeros((2, 3, 3), np.uint8))
    assert len(tiny) == 0 and tiny.image_size == (3, 2)


@pytest.mark.slow
def test_the_decoding_limit_holds_for_the_cli_and_batch_alike(tmp_path):
    """docs/photos.md: photos over Pillow's limit "are refused with their size, from the
    command line, Python and batch alike"; the other photos are still processed."""
    import json
    import shutil
    import subprocess
    import sys

    from blazepose.apps.batch import run_batch
    from conftest import REFERENCE

    src = tmp_path / "in"
    src.mkdir()
    Image.new("1", (12000, 9000)).save(src / "big.png")
    shutil.copy(REFERENCE / "pose.jpg", src / "pose.jpg")
    size = "image is 12000x9000 pixels (108.0 M)"
    p = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "image", str(src / "big.png"),
                        str(src / "pose.jpg"), "--json", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    frames = json.loads((tmp_path / "r.json").read_text())["frames"]
    assert [f.get("file", "").endswith("pose.jpg") for f in frames].count(True) == 1
    assert any(size in f.get("error", "") for f in frames), frames
    r = run_batch([str(src)], tmp_path / "out", workers=1)
    assert len(r.done) == 1 and len(r.failed) == 1
    assert size in json.dumps(r.failed[0]), r.failed
