"""torchvision's side of benchmarks/ImageLoading: ImageFolder (PIL decoding) + the ImageNet training transforms
(RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize) in a DataLoader, timed over whole epochs.
Usage: /usr/bin/python3 torchvision_loader.py FOLDER WORKERS BATCH EPOCHS   -> prints 'images/s: X' per epoch."""
import sys, time
import torch
from torchvision import datasets, transforms

root, workers, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = datasets.ImageFolder(root, tf)
loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                     persistent_workers=workers > 0)
for epoch in range(epochs):
    start, n = time.perf_counter(), 0
    for x, y in loader:
        n += x.shape[0]
    print(f'images/s: {n / (time.perf_counter() - start):.1f}', flush=True)
