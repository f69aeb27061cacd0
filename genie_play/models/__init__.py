"""The three Genie models and the camera gate. Nothing here imports from train/, app/ or cli."""

from genie_play.models.dynamics import Dynamics, DynamicsConfig
from genie_play.models.gate import CameraGate, CameraGateConfig
from genie_play.models.lam import LAMConfig, LatentActionModel
from genie_play.models.tokenizer import Tokenizer, TokenizerConfig

MODEL_KINDS = {
    "tokenizer": (Tokenizer, TokenizerConfig),
    "lam": (LatentActionModel, LAMConfig),
    "dynamics": (Dynamics, DynamicsConfig),
    "gate": (CameraGate, CameraGateConfig),
}

__all__ = ["CameraGate", "CameraGateConfig", "Dynamics", "DynamicsConfig", "LAMConfig", "LatentActionModel", "Tokenizer", "TokenizerConfig", "MODEL_KINDS"]
