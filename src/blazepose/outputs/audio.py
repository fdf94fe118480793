"""The input's sound in the annotated video: its audio stream carried over with PyAV.

``AudioPass.open(source, output)`` adds an audio stream to an open PyAV output container and
feeds it, as the pictures are written, with the packets of ``source``'s first audio stream up to
the video's current end (``mux_until(seconds)``), so the file stays interleaved and a file cut by a
kill keeps its sound up to its last whole fragment. The packets are copied as they are when the
container takes their codec (AAC, MP3, ... into MP4; anything into Matroska); otherwise the sound is
decoded and encoded again as AAC. The sound stops where the video stops (``--max-frames``). A
source without sound, or that PyAV cannot open (a camera, a stream), gives ``None``: the video is
written silent and the log says why.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction

log = logging.getLogger(__name__)

#: Audio codecs each container takes as they are (Matroska takes all).
COPYABLE = {"mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}}


class AudioPass:
    """The audio packets of one source, muxed into an output container as the video advances."""

    def __init__(self, inp, in_stream, out, out_stream, transcode: bool):
        self._in, self._in_stream = inp, in_stream
        self._out, self._out_stream = out, out_stream
        self._transcode = transcode
        self._packets = inp.demux(in_stream)
        self._pending = None    # the packet read past the current end, kept for the next call
        self._done = False
        self._start = in_stream.start_time or 0
        if transcode:
            import av

            self._resampler = av.AudioResampler(format="fltp", layout=out_stream.layout,
                                                rate=out_stream.rate)
            self._fifo = av.AudioFifo()
            self._samples = 0   # samples encoded so far: the next frame's pts

    @classmethod
    def open(cls, source: str | os.PathLike, out) -> "AudioPass | None":
        """An ``AudioPass`` from ``source`` into the PyAV container ``out``, or None (no sound)."""
        import av

        if not isinstance(source, (str, os.PathLike)) or not os.path.isfile(source):
            log.info("%s: not a file; the annotated video has no sound", source)
            return None
        try:
            inp = av.open(os.fspath(source))
        except (OSError, av.FFmpegError) as exc:
            log.info("%s: cannot read its sound (%s); the annotated video has none", source, exc)
            return None
        if not inp.streams.audio:
            inp.close()
            return None
        ins = inp.streams.audio[0]
        fmt = out.format.name.split(",")[0]
        copy = fmt == "matroska" or ins.codec_context.name in COPYABLE.get(fmt, ())
        try:
            if copy:
                outs = out.add_stream_from_template(ins)
            else:
                rate = ins.codec_context.sample_rate or 48000
                # by channel count: a layout a container left unnamed ("1 channels") is not one AAC takes
                layout = "mono" if ins.codec_context.channels == 1 else "stereo"
                outs = out.add_stream("aac", rate=rate, layout=layout)
        except (ValueError, av.FFmpegError) as exc:
            log.warning("%s: cannot carry its %s sound over (%s); the annotated video has none",
                        source, ins.codec_context.name, exc)
            inp.close()
            return None
        return cls(inp, ins, out, outs, transcode=not copy)

    def _seconds(self, packet) -> float:
        return float((packet.pts - self._start) * packet.time_base) if packet.pts is not None else 0.0

    def mux_until(self, seconds: float) -> None:
        """Mux the source's sound up to ``seconds`` from its start."""
        while not self._done:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None or packet.size == 0 and packet.pts is None:   # the end (a flush packet)
                self._done = True
                break
            if self._seconds(packet) >= seconds:
                self._pending = packet
                break
            self._mux(packet)

    def _mux(self, packet) -> None:
        if not self._transcode:
            packet.stream = self._out_stream
            self._out.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            for f in self._resampler.resample(frame):
                self._fifo.write(f)
        self._encode_fifo(final=False)

    def _encode_fifo(self, final: bool) -> None:
        size = self._out_stream.codec_context.frame_size or 1024
        while self._fifo.samples >= size or (final and self._fifo.samples):
            frame = self._fifo.read(min(size, self._fifo.samples))
            frame.pts, frame.time_base = self._samples, Fraction(1, self._out_stream.rate)
            self._samples += frame.samples
            for p in self._out_stream.encode(frame):
                self._out.mux(p)

    def finish(self, seconds: float) -> None:
        """The sound up to ``seconds`` (the video's end), the encoder flushed, the source closed."""
        try:
            self.mux_until(seconds)
            if self._transcode:
                self._encode_fifo(final=True)
                for p in self._out_stream.encode(None):
                    self._out.mux(p)
        finally:
            self._in.close()
