"""Task heads: mask-based speech enhancement on STFT frames, and utterance-level emotion classification."""
import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from merit.config import SEHeadConfig, SERHeadConfig
from merit.stft import ConvISTFT, ConvSTFT


def upsample_to_stft_frames(features: Tensor, num_stft_frames: int) -> Tensor:
    """20 ms SSL frames -> 10 ms STFT frames by repeating each frame twice: [B, T, D] -> [B, Ts, D].

    The STFT has 1 + N // 160 frames, always a few more than 2T, so the tail repeats the last SSL frame. A gather with
    index clamp(arange(Ts) // 2, max=T-1) is the smallest exported graph (repeat_interleave exports as a Loop).
    """
    t = features.shape[1]
    idx = torch.div(torch.arange(num_stft_frames, device=features.device), 2, rounding_mode="floor")
    idx = torch.clamp(idx, max=t - 1)
    return features.index_select(1, idx)


class SEOutput(NamedTuple):
    enhanced: Optional[Tensor]  # [B, N] waveform (None in training when synthesis is off)
    mask: Tensor  # [B, Ts, F] in [0, 1]
    enhanced_logmag: Tensor  # [B, Ts, F] mask * log1p|X|, what the L1 loss compares
    noisy_logmag: Tensor  # [B, Ts, F] log1p|X|


class SEHead(nn.Module):
    """features [B, T, D] + noisy waveform [B, N] -> enhanced waveform [B, N].

    [upsampled features ; log1p|X|] -> Linear 256 -> 2-layer BLSTM -> Linear F -> sigmoid mask on log1p|X|;
    the enhanced magnitude keeps the noisy phase.
    """

    def __init__(self, in_dim: int, cfg: SEHeadConfig):
        super().__init__()
        self.cfg = cfg
        self.stft = ConvSTFT(cfg.n_fft, cfg.hop_length)
        self.istft = ConvISTFT(self.stft)
        # The trainer turns this off: its loss compares spectra, so the iSTFT (~10 % of a step) would be wasted work.
        self.synthesize_when_training = True
        f = cfg.num_bins
        self.proj = nn.Linear(in_dim + f, cfg.linear_dim)
        self.blstm = nn.LSTM(
            cfg.linear_dim,
            cfg.lstm_hidden,
            num_layers=cfg.lstm_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0,
        )
        self.out = nn.Linear(2 * cfg.lstm_hidden, f)

    def forward(self, features: Tensor, waveform: Tensor) -> SEOutput:
        real, imag = self.stft(waveform)  # [B, F, Ts] each
        real, imag = real.transpose(1, 2), imag.transpose(1, 2)  # [B, Ts, F]
        scale = self.cfg.magnitude_scale
        mag = torch.sqrt(real * real + imag * imag + 1e-12)  # [B, Ts, F]
        noisy_logmag = torch.log1p(scale * mag) if scale != 1.0 else torch.log1p(mag)
        up = upsample_to_stft_frames(features, real.shape[1])  # [B, Ts, D]
        h = self.proj(torch.cat([up, noisy_logmag], dim=-1))  # [B, Ts, 256]
        h, _ = self.blstm(h)  # [B, Ts, 2H]
        mask = torch.sigmoid(self.out(h))  # [B, Ts, F]
        enhanced_logmag = mask * noisy_logmag
        if self.training and not self.synthesize_when_training:
            return SEOutput(None, mask, enhanced_logmag, noisy_logmag)
        # |Y| / |X| rescales the noisy complex spectrum: new magnitude, noisy phase, no atan2 in the graph.
        # exp(x) - 1 rather than expm1: ONNX has no expm1 and the absolute error is ~1e-7.
        enhanced_mag = torch.exp(enhanced_logmag) - 1.0
        gain = (enhanced_mag / scale if scale != 1.0 else enhanced_mag) / mag
        enhanced = self.istft((real * gain).transpose(1, 2), (imag * gain).transpose(1, 2), waveform.shape[1])
        return SEOutput(enhanced, mask, enhanced_logmag, noisy_logmag)


class AttentiveStatsPooling(nn.Module):
    """[B, T, D] -> [B, 2D]: attention-weighted mean and standard deviation over frames."""

    def __init__(self, dim: int, attention_dim: int):
        super().__init__()
        self.attention = nn.Sequential(nn.Linear(dim, attention_dim), nn.Tanh(), nn.Linear(attention_dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        alpha = torch.softmax(self.attention(x), dim=1)  # [B, T, 1]
        mean = (alpha * x).sum(1)  # [B, D]
        var = (alpha * x * x).sum(1) - mean * mean
        std = torch.sqrt(var.clamp(min=1e-6))
        return torch.cat([mean, std], dim=-1)


def frame_level_db(waveform: Tensor, frame: int = 400, hop: int = 320) -> Tensor:
    """[B, N] -> log energy in dB of the SSL frames (400-sample receptive field, 320 hop: the same T) [B, T]."""
    power = torch.nn.functional.avg_pool1d((waveform * waveform).unsqueeze(1), frame, hop)  # [B, 1, T]
    return 10.0 * torch.log10(power.squeeze(1) + 1e-10)


class SpeakerReferenceBranch(nn.Module):
    """The window's prosody p [B, P], the speaker's reference (mean, std) [B, 2P] with its weight w [B] (0 = none yet),
    and the head's own logits [B, C] -> a logit correction [B, C].

    Its input is, in units of the training set's spread: p itself, p - mean, the std, whether there is a reference,
    and how much it holds. Without a reference (w = 0) there is no correction at all: the head's own logits come out
    unchanged, so the first windows of a call are judged exactly as by the model the branch was trained on (a first
    branch that also corrected from p alone learned espeak-ng's absolute prosody and lost 0.11 F1-macro on the unseen
    engine's clean speech). The last layer starts at zero, so a new branch starts as the head.
    """

    # log1p(w) / log1p(REFERENCE_FULL) reaches 1 at this many reference segments
    REFERENCE_FULL = 10.0

    def __init__(self, cfg: SERHeadConfig):
        super().__init__()
        if cfg.prosody_mean is None or cfg.prosody_scale is None:
            raise ValueError("ser.speaker_reference needs ser.prosody_mean and ser.prosody_scale (set by the trainer)")
        p, c = len(cfg.prosody_mean), len(cfg.classes)
        self.register_buffer("prosody_mean", torch.tensor(cfg.prosody_mean, dtype=torch.float32))
        self.register_buffer("prosody_scale", torch.tensor(cfg.prosody_scale, dtype=torch.float32))
        self.mlp = nn.Sequential(
            nn.Linear(3 * p + 2 + c, cfg.reference_hidden), nn.ReLU(),
            nn.Linear(cfg.reference_hidden, cfg.reference_hidden), nn.ReLU(),
            nn.Linear(cfg.reference_hidden, c))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, logits: Tensor, prosody: Tensor, speaker_ref: Tensor, weight: Tensor) -> Tensor:
        p = prosody.shape[1]
        has = (weight > 0).to(prosody.dtype).unsqueeze(1)  # [B, 1]
        ref_mean, ref_std = speaker_ref[:, :p], speaker_ref[:, p:]
        absolute = (prosody - self.prosody_mean) * self.prosody_scale  # [B, P]
        relative = (prosody - ref_mean) * self.prosody_scale * has  # [B, P]
        spread = ref_std * self.prosody_scale * has  # [B, P]
        amount = torch.log1p(weight.clamp(min=0.0)).unsqueeze(1) / math.log1p(self.REFERENCE_FULL)  # [B, 1]
        x = torch.cat([absolute, relative, spread, has, amount * has, logits], dim=1)
        return logits + has * self.mlp(x)


class SERHead(nn.Module):
    """features [B, T, D] (+ waveform [B, N] for the level channels, + the speaker-reference inputs when configured)
    -> emotion logits [B, C] (angry, sad, happy, neutral)."""

    def __init__(self, in_dim: int, cfg: SERHeadConfig):
        super().__init__()
        self.cfg = cfg
        dim = in_dim + (2 if cfg.level_features else 0)
        self.pool = AttentiveStatsPooling(dim, cfg.attention_dim)
        layers = [nn.Dropout(cfg.input_dropout)] if cfg.input_dropout > 0 else []
        layers.append(nn.Linear(2 * dim, cfg.mlp_hidden))
        if cfg.layer_norm:
            layers.append(nn.LayerNorm(cfg.mlp_hidden))
        layers += [nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.mlp_hidden, len(cfg.classes))]
        self.mlp = nn.Sequential(*layers)
        self.reference = SpeakerReferenceBranch(cfg) if cfg.speaker_reference else None

    def level_channels(self, waveform: Tensor, frames: int) -> Tensor:
        """[B, N] -> [B, T, 2]: absolute level ((dB + 40) / 20) and level below the loudest frame (dB / 20)."""
        return self.levels_from_db(frame_level_db(waveform)[:, :frames])

    @staticmethod
    def levels_from_db(db: Tensor) -> Tensor:
        """Frame levels in dB [B, T] -> the level channels [B, T, 2] (see level_channels)."""
        rel = db - db.max(dim=1, keepdim=True).values
        return torch.stack([(db + 40.0) / 20.0, rel / 20.0], dim=-1)

    def forward(self, features: Tensor, waveform: Optional[Tensor] = None,
                reference: Optional["ReferenceInputs"] = None) -> Tensor:
        db = None
        if self.cfg.level_features:
            if waveform is None:
                raise ValueError("this SER head uses level features: pass the waveform")
            db = frame_level_db(waveform)[:, :features.shape[1]]
        return self.classify(features, db, reference)

    def classify(self, features: Tensor, frame_db: Optional[Tensor],
                 reference: Optional["ReferenceInputs"] = None) -> Tensor:
        """SER features [B, T, D] and their frames' levels in dB [B, T] (level-feature heads only) -> logits [B, C].
        The streaming classifier calls this on frames cached from several hops (merit.streaming)."""
        if self.cfg.level_features:
            features = torch.cat([features, self.levels_from_db(frame_db)], dim=-1)
        logits = self.mlp(self.pool(features))
        # No reference inputs mean no reference: the branch would add nothing (it is gated by the weight).
        if self.reference is not None and reference is not None:
            logits = self.reference(logits, *reference)
        return logits * self.cfg.logit_scale if self.cfg.logit_scale != 1.0 else logits


class ReferenceInputs(NamedTuple):
    """The speaker-reference inputs of one batch (merit.speaker_reference)."""

    prosody: Tensor  # [B, P] the window's own prosody features
    speaker_ref: Tensor  # [B, 2P] the reference's mean then std
    weight: Tensor  # [B] the reference's weight in segments, 0 = no reference yet
