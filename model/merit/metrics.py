"""Evaluation metrics shared by `merit.evaluate` (and, by definition, by the Java evaluator that must agree with it).

All signals are 1-D float arrays at 16 kHz; `ref` is the clean reference, `est` the noisy or enhanced estimate, trimmed
to a common length by the caller. Definitions (exact, so that another implementation can reproduce the numbers):

- F1 (sklearn conventions): per class c, P = tp/(tp+fp), R = tp/(tp+fn), F1 = 2PR/(P+R), 0 when a denominator is 0;
  f1_macro = unweighted mean over ALL classes (a class absent from both labels and predictions counts as 0);
  f1_micro = F1 of the pooled counts (= accuracy for single-label classification); confusion[i][j] = #(label i,
  predicted j).
- SSNR (segmental SNR, Loizou 2007 / Hansen & Pellom 1998): 30 ms Hann frames (480 samples), hop 1/4 frame (120),
  per frame 10·log10(Σ ref² / (Σ (ref − est)² + eps) + eps) clamped to [−10, 35] dB, mean over all frames. Identical
  signals give 35.
- SI-SDR (Le Roux et al. 2019): both zero-mean, target = (<est, ref> / ||ref||²) · ref, noise = est − target,
  10·log10(||target||² / ||noise||²), eps 1e-12 inside both norms.
- STOI (Taal et al. 2011, following the reference MATLAB code / pystoi): resample to 10 kHz (polyphase 5/8), drop the
  frames (256-sample Hann, hop 128) whose clean energy is more than 40 dB below the loudest clean frame (from both
  signals, then overlap-add), STFT (256 Hann, hop 128, 512-point FFT), 15 one-third-octave bands from 150 Hz,
  envelopes in segments of 30 frames, processed envelope scaled to the clean norm and clipped at −15 dB SDR (β),
  mean over bands and segments of the correlation coefficient. Fewer than 30 frames -> 1e-5 (pystoi's convention).
  Only the resampler differs from pystoi (its MATLAB-style `resample` filter); the values agree to ~1e-3.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence

import numpy as np
from scipy.signal import resample_poly

EPS = np.finfo(np.float64).eps

# ---------------------------------------------------------------------------------------------------------------- SER


def confusion_matrix(labels: Sequence[int], preds: Sequence[int], num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for y, p in zip(labels, preds):
        cm[int(y), int(p)] += 1
    return cm


def f1_from_confusion(cm: np.ndarray) -> Dict[str, object]:
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    per_class = []
    for t, a, b in zip(tp, fp, fn):
        p = t / (t + a) if t + a > 0 else 0.0
        r = t / (t + b) if t + b > 0 else 0.0
        per_class.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    total = cm.sum()
    stp, sfp, sfn = tp.sum(), fp.sum(), fn.sum()
    micro = 2 * stp / (2 * stp + sfp + sfn) if stp + sfp + sfn > 0 else 0.0
    return {"f1_macro": float(np.mean(per_class)), "f1_micro": float(micro),
            "accuracy": float(stp / total) if total > 0 else 0.0, "f1_per_class": [float(v) for v in per_class]}


def f1_scores(labels: Sequence[int], preds: Sequence[int], num_classes: int) -> Dict[str, object]:
    cm = confusion_matrix(labels, preds, num_classes)
    res = f1_from_confusion(cm)
    res["confusion"] = cm.tolist()
    return res


# ----------------------------------------------------------------------------------------------------------------- SE


def _pair(ref, est):
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    est = np.asarray(est, dtype=np.float64).reshape(-1)
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate lengths differ: {ref.shape} vs {est.shape}")
    return ref, est


def ssnr(ref, est, sr: int = 16000, frame_ms: float = 30.0, min_db: float = -10.0, max_db: float = 35.0) -> float:
    ref, est = _pair(ref, est)
    win = int(round(frame_ms * sr / 1000))
    hop = win // 4
    if ref.size < win:
        raise ValueError(f"SSNR needs at least {win} samples, got {ref.size}")
    window = np.hanning(win)
    n = 1 + (ref.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    r = ref[idx] * window
    e = est[idx] * window
    sig = np.sum(r * r, axis=1)
    noise = np.sum((r - e) ** 2, axis=1)
    seg = 10 * np.log10(sig / (noise + EPS) + EPS)
    return float(np.mean(np.clip(seg, min_db, max_db)))


def si_sdr(ref, est) -> float:
    ref, est = _pair(ref, est)
    ref = ref - ref.mean()
    est = est - est.mean()
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = alpha * ref
    noise = est - target
    return float(10 * math.log10((np.dot(target, target) + 1e-12) / (np.dot(noise, noise) + 1e-12)))


# STOI constants (Taal et al. 2011)
STOI_FS = 10000
STOI_FRAME = 256
STOI_NFFT = 512
STOI_BANDS = 15
STOI_MIN_FREQ = 150
STOI_N = 30
STOI_BETA = -15.0
STOI_DYN_RANGE = 40.0


def third_octave_matrix(fs: int = STOI_FS, nfft: int = STOI_NFFT, num_bands: int = STOI_BANDS,
                        min_freq: float = STOI_MIN_FREQ) -> np.ndarray:
    """[bands, nfft/2+1] 0/1 matrix grouping FFT bins into one-third-octave bands (edges snapped to bins)."""
    f = np.linspace(0, fs, nfft + 1)[: nfft // 2 + 1]
    k = np.arange(num_bands, dtype=np.float64)
    lo = min_freq * np.power(2.0, (2 * k - 1) / 6)
    hi = min_freq * np.power(2.0, (2 * k + 1) / 6)
    obm = np.zeros((num_bands, f.size))
    for i in range(num_bands):
        fl = int(np.argmin((f - lo[i]) ** 2))
        fh = int(np.argmin((f - hi[i]) ** 2))
        obm[i, fl:fh] = 1.0
    return obm


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    w = np.hanning(size + 2)[1:-1]
    starts = range(0, len(x) - size, hop)
    return np.array([w * x[i:i + size] for i in starts]).reshape(-1, size)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    num, size = frames.shape
    out = np.zeros((num - 1) * hop + size) if num else np.zeros(0)
    for i in range(num):
        out[i * hop:i * hop + size] += frames[i]
    return out


def remove_silent_frames(x: np.ndarray, y: np.ndarray, dyn_range: float = STOI_DYN_RANGE,
                         size: int = STOI_FRAME, hop: int = STOI_FRAME // 2):
    xf = _frames(x, size, hop)
    yf = _frames(y, size, hop)
    energies = 20 * np.log10(np.linalg.norm(xf, axis=1) + EPS)
    keep = (np.max(energies) - dyn_range - energies) < 0
    return _overlap_add(xf[keep], hop), _overlap_add(yf[keep], hop)


def _stft_mag2(x: np.ndarray) -> np.ndarray:
    frames = _frames(x, STOI_FRAME, STOI_FRAME // 2)
    return np.abs(np.fft.rfft(frames, n=STOI_NFFT, axis=1)) ** 2  # [frames, bins]


_OBM = None


def stoi(ref, est, sr: int = 16000) -> float:
    global _OBM
    ref, est = _pair(ref, est)
    if sr != STOI_FS:
        g = math.gcd(sr, STOI_FS)
        ref = resample_poly(ref, STOI_FS // g, sr // g)
        est = resample_poly(est, STOI_FS // g, sr // g)
    if ref.size <= STOI_FRAME:
        return 1e-5
    x, y = remove_silent_frames(ref, est)
    if x.size <= STOI_FRAME:
        return 1e-5
    if _OBM is None:
        _OBM = third_octave_matrix()
    x_tob = np.sqrt(_OBM @ _stft_mag2(x).T)  # [bands, frames]
    y_tob = np.sqrt(_OBM @ _stft_mag2(y).T)
    if x_tob.shape[1] < STOI_N:
        return 1e-5
    m = x_tob.shape[1]
    xs = np.stack([x_tob[:, i - STOI_N:i] for i in range(STOI_N, m + 1)])  # [J, bands, N]
    ys = np.stack([y_tob[:, i - STOI_N:i] for i in range(STOI_N, m + 1)])
    norm = np.linalg.norm(xs, axis=2, keepdims=True) / (np.linalg.norm(ys, axis=2, keepdims=True) + EPS)
    clip = 10 ** (-STOI_BETA / 20)
    yp = np.minimum(ys * norm, xs * (1 + clip))
    yp = yp - yp.mean(axis=2, keepdims=True)
    xs = xs - xs.mean(axis=2, keepdims=True)
    yp = yp / (np.linalg.norm(yp, axis=2, keepdims=True) + EPS)
    xs = xs / (np.linalg.norm(xs, axis=2, keepdims=True) + EPS)
    return float(np.sum(yp * xs) / (xs.shape[0] * xs.shape[1]))


def se_item_metrics(clean, noisy, enhanced=None, sr: int = 16000) -> Dict[str, float]:
    """SSNR / SI-SDR / STOI of the noisy input (and of the enhanced output when given) for one utterance."""
    n = min(len(clean), len(noisy), len(enhanced) if enhanced is not None else len(noisy))
    c, y = np.asarray(clean[:n]), np.asarray(noisy[:n])
    out = {"ssnr_noisy_db": ssnr(c, y, sr), "si_sdr_noisy_db": si_sdr(c, y), "stoi_noisy": stoi(c, y, sr)}
    if enhanced is not None:
        e = np.asarray(enhanced[:n])
        out.update({"ssnr_enhanced_db": ssnr(c, e, sr), "si_sdr_enhanced_db": si_sdr(c, e),
                    "stoi_enhanced": stoi(c, e, sr)})
    return out


SE_KEYS = ("ssnr_noisy_db", "ssnr_enhanced_db", "si_sdr_noisy_db", "si_sdr_enhanced_db", "stoi_noisy", "stoi_enhanced")
SER_KEYS = ("f1_macro", "f1_micro", "accuracy", "confusion")


def summarise(items: List[Dict], num_classes: int = 4) -> Dict[str, object]:
    """Items [{"label", "pred", <SE_KEYS>...}] -> {"ser": {...}, "se": {...}, "items": n} (means over items)."""
    res: Dict[str, object] = {"items": len(items)}
    with_pred = [it for it in items if it.get("pred") is not None]
    if with_pred:
        f = f1_scores([it["label"] for it in with_pred], [it["pred"] for it in with_pred], num_classes)
        res["ser"] = {k: f[k] for k in SER_KEYS}
    se_items = [it for it in items if "ssnr_enhanced_db" in it]
    if se_items:
        res["se"] = {k: float(np.mean([it[k] for it in se_items])) for k in SE_KEYS}
    return res


def _snr_key(snr: float) -> str:
    return f"{float(snr):g}"


def _seen_key(seen) -> str:
    return "seen" if seen is True else "unseen" if seen is False else "unknown"


def evaluation_summary(items: List[Dict], num_classes: int = 4) -> Dict[str, object]:
    """The evaluation JSON contract (a Java evaluator must produce the same keys and numbers):

        {"ser": {"f1_macro", "f1_micro", "accuracy", "confusion"},
         "se": {"ssnr_noisy_db", "ssnr_enhanced_db", "si_sdr_noisy_db", "si_sdr_enhanced_db", "stoi_noisy",
                "stoi_enhanced"},
         "by_snr": {"-5": {"ser", "se", "items"}, "0": ..., "5": ...},      # keys: the SNR formatted like %g
         "by_noise": {"seen": {...}, "unseen": {...}},                     # item["noise_seen"] True / False
         "by_condition": {"-5/unseen": {...}, ...},                        # both at once
         "items": n}

    Items are dicts with "label" and "pred" (class indices; "pred" absent for SE-only models), "snr_db", "noise_seen"
    and the per-item SE_KEYS of `se_item_metrics`; SE numbers are means over items, SER numbers come from the pooled
    confusion matrix of the subset. "ser" / "se" are left out when no item has them.
    """
    out = summarise(items, num_classes)
    groups: Dict[str, Dict[str, List[Dict]]] = {"by_snr": {}, "by_noise": {}, "by_condition": {}}
    for it in items:
        s, n = _snr_key(it["snr_db"]), _seen_key(it.get("noise_seen"))
        groups["by_snr"].setdefault(s, []).append(it)
        groups["by_noise"].setdefault(n, []).append(it)
        groups["by_condition"].setdefault(f"{s}/{n}", []).append(it)
    for g, sub in groups.items():
        out[g] = {k: summarise(v, num_classes) for k, v in sorted(sub.items(), key=lambda kv: kv[0])}
    return out
