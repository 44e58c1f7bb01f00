"""CardiacCLIP model: backbone factory, EchoZoom, MFL, prompts, EF head, checkpoints, inference, the predictor API."""
