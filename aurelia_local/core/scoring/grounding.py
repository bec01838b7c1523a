"""The grounding scorer: CLIP (keyframes vs caption) and CLAP (audio vs caption), calibrated to 1-10.

For each sample the media embeddings are computed once (keyframes mean-pooled, audio windows
mean-pooled) and kept for later rounds. Every caption is split into sentences; all sentences of a
batch go through each text tower in one call, and a caption's embedding is the normalised mean of
its sentences' (CLIP reads at most 77 tokens per text). Each modality's similarity is then
calibrated against the distractor bank (``aurelia_local.core.scoring.calibration``), and the two
sub-scores are combined by ``evaluator.visual_weight``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from aurelia_local.core.config import Settings
from aurelia_local.core.media.bundle import MediaBundle
from aurelia_local.core.scoring.base import Score, combine, split_sentences
from aurelia_local.core.scoring.calibration import calibrated_score
from aurelia_local.core.scoring.distractors import DISTRACTOR_VERSION, DISTRACTORS

MEDIA_CACHE_SIZE = 64


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def pooled(embeddings: np.ndarray) -> np.ndarray:
    """Normalised mean of normalised embeddings (N, D) -> (D,)."""
    return _unit(embeddings.mean(axis=0))


class GroundingScorer:
    """Scores captions by CLIP and CLAP similarity to the media, contrasted with distractors."""

    name = "grounding"

    def __init__(self, settings: Settings, clip=None, clap=None):
        """Load (once per process) the profile's CLIP and CLAP, unless encoders are given."""
        from aurelia_local.core.scoring.clap_score import clap_encoder
        from aurelia_local.core.scoring.clip_score import clip_encoder

        self.cfg = settings.evaluator
        self.clip = clip or clip_encoder(settings.model_path("clip"), settings.models["clip"])
        self.clap = clap or clap_encoder(settings.model_path("clap"), settings.models["clap"])
        self.distractors = {
            "visual": self.clip.embed_texts(list(DISTRACTORS)),
            "audio": self.clap.embed_texts(list(DISTRACTORS)),
        }
        self._media: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # the loop scores from worker threads

    def media_embeddings(self, bundle: MediaBundle) -> dict[str, np.ndarray]:
        """Pooled keyframe and audio embeddings of a sample (computed once, then cached)."""
        from aurelia_local.core.scoring.clap_score import CLAP_RATE, audio_windows

        if bundle.key not in self._media:
            emb = {"visual": pooled(self.clip.embed_images(bundle.keyframes))}
            if bundle.audio_48k is not None:
                wins = audio_windows(
                    bundle.audio_48k, CLAP_RATE, self.cfg.audio_window_s, self.cfg.max_audio_windows
                )
                emb["audio"] = pooled(self.clap.embed_audio(wins))
            self._media[bundle.key] = emb
            while len(self._media) > MEDIA_CACHE_SIZE:
                self._media.popitem(last=False)
        self._media.move_to_end(bundle.key)
        return self._media[bundle.key]

    def caption_embeddings(self, captions: Sequence[str]) -> list[dict[str, np.ndarray] | None]:
        """Per caption, its pooled sentence embedding in each text tower (None for an empty caption)."""
        sentences = [split_sentences(c, self.cfg.max_sentences) for c in captions]
        flat = [s for group in sentences for s in group]
        if not flat:
            return [None] * len(captions)
        towers = {"visual": self.clip.embed_texts(flat), "audio": self.clap.embed_texts(flat)}
        out: list[dict[str, np.ndarray] | None] = []
        start = 0
        for group in sentences:
            if not group:
                out.append(None)
                continue
            out.append({k: pooled(v[start : start + len(group)]) for k, v in towers.items()})
            start += len(group)
        return out

    def score(self, items: Sequence[tuple[MediaBundle, str]]) -> list[Score]:
        """Score every ``(media, caption)`` pair; captions are embedded in one batch."""
        with self._lock:
            texts = self.caption_embeddings([caption for _, caption in items])
            return [self._score_one(bundle, text) for (bundle, _), text in zip(items, texts, strict=True)]

    def _score_one(self, bundle: MediaBundle, text: dict[str, np.ndarray] | None) -> Score:
        if text is None:
            return Score(value=1, scorer=self.name, note="empty caption")
        media = self.media_embeddings(bundle)
        subs: dict[str, int] = {}
        sims: dict[str, float] = {}
        for modality, emb in media.items():
            sim = float(emb @ text[modality])
            subs[modality], z = calibrated_score(
                sim, self.distractors[modality] @ emb, self.cfg.z_low, self.cfg.z_high, self.cfg.std_floor
            )
            sims[modality], sims[f"{modality}_z"] = sim, z
        weights = {"visual": self.cfg.visual_weight, "audio": 1 - self.cfg.visual_weight}
        if "audio" not in subs:
            weights = {"visual": 1.0}
        score = combine(subs, weights, self.name, similarities=sims)
        if "audio" not in subs:
            return score.model_copy(update={"note": score.note + "; no audio (video-only sample)"})
        return score

    @property
    def provenance(self) -> dict[str, str]:
        """What produced the scores (recorded with every result)."""
        return {"clip": self.clip.name, "clap": self.clap.name, "distractors": DISTRACTOR_VERSION}
