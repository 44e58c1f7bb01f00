"""The built-in synthetic default: echo videos in the EchoNet-Dynamic layout, report sentences, toy pretraining."""
