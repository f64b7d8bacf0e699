from .resnet import resnet50
