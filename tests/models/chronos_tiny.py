"""Tiny randomly initialised Chronos-Bolt and Chronos-2 models, saved to a folder, so tests can
load them offline through the same ``model_path`` code path users take with real weights."""

from __future__ import annotations

from pathlib import Path

GRID_BOLT = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
GRID_C2 = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


def build_bolt(folder: Path, seed: int = 0) -> Path:
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    torch.manual_seed(seed)
    config = T5Config(vocab_size=2, d_model=16, d_ff=32, d_kv=8, num_layers=1, num_decoder_layers=1,
                      num_heads=2, decoder_start_token_id=0, pad_token_id=0)
    config.chronos_config = {"context_length": 64, "prediction_length": 16, "input_patch_size": 8,
                             "input_patch_stride": 8, "quantiles": GRID_BOLT, "use_reg_token": True}
    config.chronos_pipeline_class = "ChronosBoltPipeline"
    config.architectures = ["ChronosBoltModelForForecasting"]
    ChronosBoltModelForForecasting(config).save_pretrained(folder)
    return folder


def build_chronos2(folder: Path, seed: int = 0) -> Path:
    import torch
    from chronos.chronos2 import Chronos2Model
    from chronos.chronos2.config import Chronos2CoreConfig

    torch.manual_seed(seed)
    config = Chronos2CoreConfig(d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    config.chronos_config = {"context_length": 64, "output_patch_size": 8, "input_patch_size": 8,
                             "input_patch_stride": 8, "quantiles": GRID_C2, "use_reg_token": True,
                             "max_output_patches": 4}
    config.chronos_pipeline_class = "Chronos2Pipeline"
    config.architectures = ["Chronos2Model"]
    Chronos2Model(config).save_pretrained(folder)
    return folder
