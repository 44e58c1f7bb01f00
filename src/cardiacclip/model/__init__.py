"""CardiacCLIP model: backbone factory, EchoZoom, MFL, prompts, EF head."""
