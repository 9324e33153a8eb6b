"""The pinned torch / torchvision pair imports together and works on the CPU."""

import torch
import torchvision


def test_torchvision_imports_beside_torch_and_builds_resnet18():
    # PyPI's torchvision fails right here ("operator torchvision::nms does not
    # exist") when paired with a torch build it was not made for.
    model = torchvision.models.resnet18()  # no weights: nothing is downloaded
    logits = model.eval()(torch.zeros(1, 3, 64, 64))
    assert logits.shape == (1, 1000)
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_torchvision_compiled_ops_load():
    boxes = torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]]
    )
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
