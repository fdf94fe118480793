"""One name per concept on the command line: ``--engine`` is the inference engine in every command,
batch's process runner is ``--runner``; the old spellings still work with one deprecation line.
The option flags are built from ``PoseOptions``' field metadata."""
import json
import shutil
from dataclasses import fields

import pytest

from blazepose.apps.cli import build_parser, main
from blazepose.options import PoseOptions

from conftest import REFERENCE


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_option_flags_come_from_the_fields_metadata(capsys):
    video_help = _help(capsys, "video")
    for f in fields(PoseOptions):
        where = f.metadata["cli"]
        if where in ("all", "video"):
            flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
            assert flag in video_help, flag
            assert f.metadata["help"].split()[0] in video_help
    image_help = _help(capsys, "image")
    assert "--enable-segmentation" in image_help and "--reid-timeout-ms" not in image_help
    assert "--compact" not in image_help and "--inference-engine" not in image_help   # old spelling: hidden
    for cmd in ("image", "video", "batch", "eval", "serve"):
        assert "--engine ENGINE" in _help(capsys, cmd), cmd
    assert "--runner {local,ray}" in _help(capsys, "batch")


def test_engine_flag_and_its_old_spelling(capsys, tmp_path):
    img = str(REFERENCE / "pose.jpg")
    assert main(["image", img, "--model", "lite", "--engine", "litert", "--json", str(tmp_path / "a.json")]) == 0
    assert capsys.readouterr().err == ""
    assert main(["image", img, "--model", "lite", "--inference-engine", "litert",
                 "--json", str(tmp_path / "b.json")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--inference-engine is deprecated, use --engine" in err
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a["frames"] == b["frames"] and a["options"]["engine"] == "litert"
    assert main(["image", img, "--engine", "onnx"]) == 2
    assert "engine must be one of litert, openvino, got onnx" in capsys.readouterr().err


def test_serve_engine_is_checked_before_the_server_starts(capsys):
    pytest.importorskip("uvicorn")
    assert main(["serve", "--engine", "onnx", "--port", "0"]) == 2
    assert "engine must be one of litert, openvino, got onnx" in capsys.readouterr().err
    args = build_parser().parse_args(["serve", "--engine", "openvino"])
    assert args.engine == "openvino"


def test_batch_runner_flag_and_the_old_engine_spelling(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(REFERENCE / "pose.jpg", src / "pose.jpg")
    assert main(["batch", str(src), "--out", str(tmp_path / "new"), "--model", "lite", "--runner", "local",
                 "--engine", "litert"]) == 0
    assert "deprecated" not in capsys.readouterr().err
    report = json.loads((tmp_path / "new" / "batch_report.json").read_text())
    assert report["runner"] == "local" and "engine" not in report
    assert report["options"]["engine"] == "litert"
    assert main(["batch", str(src), "--out", str(tmp_path / "old"), "--model", "lite", "--engine", "local"]) == 0
    err = capsys.readouterr().err
    assert "--engine local is deprecated, use --runner local" in err
    assert json.loads((tmp_path / "old" / "batch_report.json").read_text())["runner"] == "local"
    args = build_parser().parse_args(["batch", "x", "--out", "y", "--engine", "openvino"])
    assert (args.engine, args.runner) == ("openvino", "local")


def test_run_batch_engine_keyword_is_a_deprecated_runner(tmp_path):
    from blazepose.apps.batch import BatchOptions, run_batch
    from blazepose.errors import UsageError

    with pytest.raises(UsageError, match="runner must be one of local, ray, got 'litert'"):
        run_batch([], tmp_path / "o", BatchOptions(), runner="litert")
    with pytest.warns(DeprecationWarning, match="runner="):
        report = run_batch([], tmp_path / "o", BatchOptions(), engine="local")
    assert report.runner == "local"
