"""DiMP components: full ResNet-50, linear-filter classifier with steepest-descent optimizer, ATOM IoU-Net."""
