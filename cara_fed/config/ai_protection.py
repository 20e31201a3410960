"""Settings sections for the protection against AI use: NoAI reservations and crawler blocking, AI-provenance
detection and its policies, and cloaking."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.config.setting import setting


@dataclass
class ProtectionConfig:
    tdm_policy_url: str = setting("", "TDMRep policy URL sent as `tdm-policy` (header, meta, tdmrep.json) with "
                                  "every NoAI reservation; empty = none. Must be http(s).")
    extra_ai_crawlers: list = setting(None, "User-agent tokens to add to the shipped AI-crawler list "
                                      "(protection/data/ai-crawlers.txt) for robots.txt, ai.txt and media blocking.",
                                      item=str)
    ai_crawlers_file: str = setting("", "A file of more AI-crawler tokens, same format as the shipped list "
                                    "(one token per line, # comments); empty = none.")
    block_ai_crawlers_on_media: bool = setting(True, "Answer 403 to listed AI crawlers asking for media.")
    media_rate_limit_per_minute: int = setting(600, "Media requests allowed per client address per minute and "
                                               "web process (429 with Retry-After past it); 0 = no limit.",
                                               minimum=0)

    def __post_init__(self) -> None:
        if self.extra_ai_crawlers is None:
            self.extra_ai_crawlers = []


POLICY_ACTIONS = ("accept", "label", "hold", "reject")


@dataclass
class DetectionConfig:
    local_policy: str = setting("label", "What to do with a local upload whose AI-provenance detection finds a "
                                "signal: accept (publish, verdict visible to the artist), label (publish with "
                                "an AI label), hold (keep for moderator review), reject (kept privately; the "
                                "artist may appeal).", choices=POLICY_ACTIONS)
    inbound_policy: str = setting("label", "The same choice for media arriving over federation.",
                                  choices=POLICY_ACTIONS)
    min_score_percent: int = setting(50, "Verdict score (0-100) from which the policy applies; below it the "
                                     "verdict is only shown in the artist's protection panel.", minimum=0)
    classifier_model: str = setting("", "Path of an optional ONNX image classifier (docs/detection.md); empty = "
                                    "metadata, provenance and watermark layers only.")
    classifier_input_size: int = setting(224, "Classifier input edge in pixels.", minimum=8)
    classifier_threshold_percent: int = setting(50, "Classifier probability (0-100) from which it counts as "
                                                "evidence.", minimum=0)
    classifier_positive_index: int = setting(1, "Which output of the classifier is the AI class.", minimum=0)
    classifier_normalisation: str = setting("imagenet", "Per-channel mean/std the model was trained with.",
                                            choices=("imagenet", "clip"))
    classifier_activation: str = setting("auto", "How outputs become a probability: auto (in [0,1] as is, one "
                                         "value sigmoid, several softmax), softmax, sigmoid or none.",
                                         choices=("auto", "softmax", "sigmoid", "none"))
    classifier_resize: str = setting("center_crop", "center_crop (shorter side to the input size, then crop, "
                                     "like CLIP) or stretch.", choices=("center_crop", "stretch"))
    c2pa_trust_anchors: str = setting("", "PEM file of C2PA trust anchors; without it signed manifests are "
                                      "reported valid, never trusted.")


@dataclass
class CloakConfig:
    engine: str = setting("adversarial", "Cloaking engine for works whose artist turned it on (docs/cloaking.md): "
                          "adversarial (built in; needs the cloak extra, pip install 'cara-fed[cloak]'), external "
                          "(a command such as Glaze or Mist) or none (cloaking is not offered).",
                          choices=("adversarial", "external", "none"))
    steps: int = setting(30, "Optimisation steps of the built-in engine (time grows linearly).", minimum=1)
    target_psnr: int = setting(33, "Perceptual budget of the built-in engine: the cloaked image stays at least "
                               "this close (PSNR, dB) to the original.", minimum=20)
    seed: int = setting(0, "Seed of the built-in engine (each image adds its own id, so results are "
                        "reproducible).", minimum=0)
    threads: int = setting(2, "CPU threads one cloaking job may use.", minimum=1)
    measure: bool = setting(True, "After cloaking, measure the protection panel's figures (PSNR, SSIM, embedding "
                            "shifts on CLIP and the held-out encoder beside the baselines). Needs the cloak extra "
                            "even with an external engine; costs CPU (tens of seconds per image on 2 cores).")
    external_command: list = setting(None, "The external engine's command and arguments; {input} and {output} "
                                     "are replaced by the PNG to cloak and the file the tool must write.", item=str)
    external_timeout_seconds: int = setting(1800, "The external tool is stopped (and the job fails, visibly) "
                                            "after this long.", minimum=1)
    external_concurrency: int = setting(1, "External tool runs at once per worker process.", minimum=1)
    external_version: str = setting("", "Name and version of the external tool, shown to artists and federated "
                                    "(e.g. glaze-2.1); empty = the program's name.")
    inbound_noai: bool = setting(False, "Also cloak our cached copies of remote works that ask for NoAI and are "
                                 "not cloaked by their origin.")

    def __post_init__(self) -> None:
        if self.external_command is None:
            self.external_command = []
