"""Streaming inference: each hop of audio goes through the model once, not once per window that holds it.

The job's windows are 3 s long every 1 s, so window inference runs every second of audio through the model three
times. Here a trained model is split in two graphs (its weights as they are; the shipped one also has its SE head
fine-tuned on chunks, see merit.recipe's train-merit-sparse-stream):

- `StreamingEncoder`: one hop of new audio plus `context` samples before it, `chunk` [B, C + H] ->
  `enhanced` [B, H + X] (the hop's enhanced audio, ending `lookahead` R samples before the chunk and starting `overlap`
  X before the hop, for a cross-fade with the previous one), `ser_frames` [B, F, D] (the SER experts' features of
  the hop's F = H / 320 SSL frames), `frame_db` [B, F] (those frames' input level), `routing_se` / `routing_ser`
  [B, F]. This is nearly all the work (backbone, experts, SE head), on (C + H) / W of the window's samples.
- `StreamingClassifier`: the cached `ser_frames` / `frame_db` of the window's last K = W / H hops, [B, K·F, ...], plus
  the speaker-reference inputs -> `emotion_logits` [B, 4]: the SER head's attentive pooling and MLP, exactly as on a
  window's frames, at a few MFLOP.

A hop's frames are those that start in [C - 320, C + H - 320) of its chunk: the last frame of a hop needs 80 samples
past it (400-sample receptive field, 320 hop), so each hop contributes the previous hop's last frame and its own first
F - 1; the K hops of a window then hold F·K frames, one more than the window (starting 20 ms before it).

What changes against window inference is the context each frame is computed with: the backbone's attention and the
SE head's BLSTM see C + H samples (the front end's GroupNorm normalises over them), and the SE head no longer averages
three estimates of each sample.
`stream_waveform` runs a whole call this way for the evaluation (`merit.stream_eval`).
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from merit.heads import ReferenceInputs, frame_level_db
from merit.model import SparseMerit

FRAME_HOP = 320  # SSL frame hop in samples (20 ms); the receptive field is 400 (merit.backbones.tiny.num_frames)


class StreamingShape(NamedTuple):
    hop: int  # H, samples per hop
    context: int  # C, samples of left context per chunk (a multiple of 320, at least 320)
    hops_per_window: int  # K, hops a window's emotion is pooled over
    lookahead: int = 0  # R: the enhanced hop ends R samples before the chunk does
    overlap: int = 0  # X: the enhanced output starts X samples before its hop, cross-faded with the one before

    @property
    def chunk(self) -> int:
        return self.context + self.hop

    @property
    def frames_per_hop(self) -> int:
        return self.hop // FRAME_HOP

    @staticmethod
    def of(sample_rate: int, window_seconds: float, hop_seconds: float, context_seconds: float,
           lookahead_seconds: float = 0.0, overlap_seconds: float = 0.0) -> "StreamingShape":
        hop = round(hop_seconds * sample_rate)
        context = round(context_seconds * sample_rate)
        window = round(window_seconds * sample_rate)
        lookahead = round(lookahead_seconds * sample_rate)
        overlap = round(overlap_seconds * sample_rate)
        if lookahead < 0 or overlap < 0 or lookahead + overlap > context:
            raise ValueError(f"lookahead ({lookahead}) and overlap ({overlap}) must be >= 0 and fit in the context "
                             f"({context})")
        if hop % FRAME_HOP or context % FRAME_HOP or context < FRAME_HOP:
            raise ValueError(f"hop ({hop}) and context ({context}) must be multiples of {FRAME_HOP} samples, "
                             f"context at least {FRAME_HOP}")
        if window % hop:
            raise ValueError(f"window ({window}) must be a whole number of hops ({hop})")
        return StreamingShape(hop, context, window // hop, lookahead, overlap)


class StreamingEncoder(nn.Module):
    """chunk [B, C + H] -> enhanced [B, H], ser_frames [B, F, D], frame_db [B, F], routing_se / routing_ser [B, F]."""

    def __init__(self, model: SparseMerit, shape: StreamingShape):
        super().__init__()
        if not isinstance(model, SparseMerit):
            raise TypeError("streaming export is for Sparse MERIT models")
        self.model = model
        self.shape = shape
        self.first_frame = shape.context // FRAME_HOP - 1

    def forward(self, chunk: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        m = self.model
        fused = m.fuse(m.backbone(chunk))  # [B, Tc, L*D]
        moe = m.moe(fused)
        end = self.shape.chunk - self.shape.lookahead
        enhanced = m.se_head(moe.features["se"], chunk).enhanced[:, end - self.shape.hop - self.shape.overlap:end]
        frames = slice(self.first_frame, self.first_frame + self.shape.frames_per_hop)
        ser_frames = moe.features["ser"][:, frames]  # [B, F, D]
        db = frame_level_db(chunk)[:, frames]  # [B, F]
        return enhanced, ser_frames, db, moe.gates["se"].routing[:, frames], moe.gates["ser"].routing[:, frames]


class StreamingClassifier(nn.Module):
    """ser_frames [B, T, D], frame_db [B, T] (+ prosody, speaker_ref, speaker_ref_weight) -> emotion_logits [B, C]."""

    def __init__(self, model: SparseMerit):
        super().__init__()
        self.model = model

    def forward(self, ser_frames: Tensor, frame_db: Tensor, *reference: Tensor) -> Tensor:
        head = self.model.ser_head
        return head.classify(ser_frames, frame_db, ReferenceInputs(*reference) if reference else None)


class StreamOutput(NamedTuple):
    enhanced: Tensor  # [B, N]
    window_logits: List[Tensor]  # one [B, C] per hop: the window that ends with it


def overlap_add(pieces: List[Tensor], hop: int) -> Tensor:
    """Equal-length pieces [B, S], piece k at timeline position k · hop -> [B, (K - 1) · hop + S]: each weighted by
    sin²(π (n + ½) / S) and divided by the weights that reached each sample, as the job's analytics overlap-adds."""
    b, span = pieces[0].shape
    weight = torch.sin(torch.pi * (torch.arange(span) + 0.5) / span) ** 2
    num = torch.zeros(b, (len(pieces) - 1) * hop + span)
    den = torch.zeros(num.shape[1])
    for k, piece in enumerate(pieces):
        num[:, k * hop:k * hop + span] += weight * piece
        den[k * hop:k * hop + span] += weight
    return num / den


@torch.no_grad()
def stream_waveform(model: SparseMerit, waveform: Tensor, shape: StreamingShape,
                    reference: Optional[ReferenceInputs] = None) -> StreamOutput:
    """A whole utterance [B, N] as the job streams it: zeros before its start, hops of H (the last one zero-padded),
    each window's emotion pooled over its last K hops' frames (fewer at the start)."""
    encoder, classifier = StreamingEncoder(model, shape).eval(), StreamingClassifier(model).eval()
    b, n = waveform.shape
    hops = max(1, -(-(n + shape.lookahead) // shape.hop))
    padded = torch.zeros(b, shape.context + hops * shape.hop, dtype=waveform.dtype)
    padded[:, shape.context:shape.context + n] = waveform
    enhanced, frames, dbs, logits = [], [], [], []
    for k in range(hops):
        start = k * shape.hop
        out = encoder(padded[:, start:start + shape.chunk])
        enhanced.append(out[0])
        frames = (frames + [out[1]])[-shape.hops_per_window:]
        dbs = (dbs + [out[2]])[-shape.hops_per_window:]
        logits.append(classifier(torch.cat(frames, 1), torch.cat(dbs, 1), *(reference or ())))
    # The cross-faded hops' timeline starts R + X before the call.
    skip = shape.lookahead + shape.overlap
    return StreamOutput(overlap_add(enhanced, shape.hop)[:, skip:skip + n], logits)



# name -> (dtype, symbolic shape) of the encoder graph's outputs, in graph order.
ENCODER_OUTPUTS = {
    "enhanced": ("float32", ["B", "S"]),  # S = H + X
    "ser_frames": ("float32", ["B", "F", "D"]),
    "frame_db": ("float32", ["B", "F"]),
    "routing_se": ("int64", ["B", "F"]),
    "routing_ser": ("int64", ["B", "F"]),
}
CLASSIFIER_INPUTS = ("ser_frames", "frame_db")


def export_streaming(model: SparseMerit, shape: StreamingShape, out_dir: str, name: str,
                     data=None, metrics=None) -> Tuple[str, str, str]:
    """Writes NAME.onnx (the encoder: `waveform` [B, C + H] -> ENCODER_OUTPUTS), NAME.ser.onnx (the classifier) and
    NAME.json: the model card of the window model plus a `streaming` section the job reads. Returns the three paths."""
    import json
    import os

    import onnx

    from merit import export as ex

    model = model.eval()
    os.makedirs(out_dir, exist_ok=True)
    encoder_path = os.path.join(out_dir, f"{name}.onnx")
    classifier_path = os.path.join(out_dir, f"{name}.ser.onnx")
    gen = torch.Generator().manual_seed(0)
    chunk = torch.randn(2, shape.chunk, generator=gen)
    encoder = StreamingEncoder(model, shape).eval()
    with torch.no_grad():
        torch.onnx.export(encoder, (chunk,), encoder_path, input_names=[ex.INPUT_NAME],
                          output_names=list(ENCODER_OUTPUTS),
                          dynamic_axes={ex.INPUT_NAME: {0: "B"}, **{n: {0: "B"} for n in ENCODER_OUTPUTS}},
                          opset_version=ex.OPSET, do_constant_folding=True, **ex.legacy_exporter())
    with torch.no_grad():
        frames, db = encoder(chunk)[1:3]
    frames = torch.cat([frames] * shape.hops_per_window, 1)
    db = torch.cat([db] * shape.hops_per_window, 1)
    inputs = [frames, db]
    input_names = list(CLASSIFIER_INPUTS)
    if ex.uses_speaker_reference(model.cfg):
        inputs += list(ex.reference_example(2, gen))
        input_names += list(ex.REFERENCE_INPUTS)
    with torch.no_grad():
        torch.onnx.export(StreamingClassifier(model).eval(), tuple(inputs), classifier_path,
                          input_names=input_names, output_names=["emotion_logits"],
                          dynamic_axes={"ser_frames": {0: "B", 1: "T"}, "frame_db": {0: "B", 1: "T"},
                                        **{n: {0: "B"} for n in input_names[2:]}, "emotion_logits": {0: "B"}},
                          opset_version=ex.OPSET, do_constant_folding=True, **ex.legacy_exporter())
    for path in (encoder_path, classifier_path):
        onnx.checker.check_model(onnx.load(path))
    cfg = model.cfg
    card = ex.model_card(cfg, encoder_path, [], cfg.moe.num_experts, data, metrics)
    card["name"] = name
    card["inputs"] = [{"name": ex.INPUT_NAME, "dtype": "float32", "shape": ["B", shape.chunk]}]
    dims = {"S": shape.hop + shape.overlap, "F": shape.frames_per_hop, "D": int(frames.shape[-1])}
    card["outputs"] = [{"name": n, "dtype": t, "shape": [dims.get(d, d) for d in s]}
                       for n, (t, s) in ENCODER_OUTPUTS.items()]
    card["streaming"] = {
        "context_samples": shape.context, "hop_samples": shape.hop, "lookahead_samples": shape.lookahead,
        "overlap_samples": shape.overlap, "hops_per_window": shape.hops_per_window,
        "frames_per_hop": shape.frames_per_hop, "feature_dim": dims["D"],
        "classifier": {
            "file": os.path.basename(classifier_path),
            "sha256": ex.sha256_of(classifier_path),
            "inputs": [{"name": "ser_frames", "dtype": "float32", "shape": ["B", "T", dims["D"]]},
                       {"name": "frame_db", "dtype": "float32", "shape": ["B", "T"]}] + ex.input_specs(cfg)[1:],
            "outputs": [{"name": "emotion_logits", "dtype": "float32", "shape": ["B", len(cfg.ser.classes)]}],
        },
    }
    card_path = os.path.join(out_dir, f"{name}.json")
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return encoder_path, classifier_path, card_path


def main(argv=None) -> None:
    """Exports a model as a streaming model: a checkpoint, or a shipped window model whose weights are read back from
    its graph (merit.recover)."""
    import argparse
    import glob
    import json
    import os

    from merit.factory import load_checkpoint
    from merit.recover import recover

    p = argparse.ArgumentParser(prog="merit.streaming", description=main.__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a window model's graph (its card beside it), its weights read back from it")
    src.add_argument("--checkpoint", help="a trained checkpoint (a model fine-tuned for streaming)")
    p.add_argument("--name", required=True, help="name of the streaming model (NAME.onnx, NAME.ser.onnx, NAME.json)")
    p.add_argument("--context", type=float, default=0.48)
    p.add_argument("--lookahead", type=float, default=0.16)
    p.add_argument("--overlap", type=float, default=0.16)
    p.add_argument("--evaluation", help="merit.stream_eval's JSON files (a glob) to put into the card's metrics")
    p.add_argument("--out", required=True)
    p.add_argument("--done", help="marker file written at the end (merit.recipe)")
    p.add_argument("--provenance", help="where the checkpoint's weights came from, for the card's data")
    args = p.parse_args(argv)
    if args.model:
        model, card = recover(args.model, os.path.splitext(args.model)[0] + ".json")
        metrics = {"window_model": card.get("metrics")}
        data = {"weights": f"{os.path.basename(args.model)} (sha256 {card['sha256']}), read back by merit.recover and "
                           "verified by exporting them again", "window_model_data": card.get("data")}
    else:
        model, _, data, _ = load_checkpoint(args.checkpoint)
        data = {"provenance": args.provenance, "training": data} if args.provenance else data
        metrics = {}
    cfg = model.cfg
    shape = StreamingShape.of(cfg.sample_rate, cfg.window_seconds, cfg.hop_seconds, args.context, args.lookahead,
                              args.overlap)
    for path in sorted(glob.glob(args.evaluation)) if args.evaluation else []:
        with open(path) as f:
            res = json.load(f)
        metrics[os.path.splitext(os.path.basename(res["manifest"]))[0]] = res["summary"]
    print(json.dumps(export_streaming(model, shape, args.out, args.name, data, metrics)))
    if args.done:
        with open(args.done, "w") as f:
            f.write(args.name + "\n")


if __name__ == "__main__":
    main()
