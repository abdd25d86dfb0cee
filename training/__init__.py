"""Shinsaku training: data splits, augmentation, the attention-MobileNetV2 detector, training,
evaluation and ONNX export. Needs the ``train`` extra (torch, torchvision)."""
