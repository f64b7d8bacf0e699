"""Install the SLT plugin: `ltr_slt` (training) and `pytracking_slt` (evaluation).

Never depends on the PyPI package called `pytracking` (an unrelated e-mail library) and never
installs a top-level `ltr` / `pytracking` package, so it cannot shadow a pytracking workspace.
"""
from setuptools import find_packages, setup

setup(
    name="slt-tracking",
    version="0.1.0",
    description="Sequence-Level Training (Kim et al., ECCV 2022) as a pytracking-style plugin",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["ltr_slt", "ltr_slt.*", "pytracking_slt", "pytracking_slt.*"]),
    # the demo's pretrained tiny baseline (slt-demo --train-baseline) and its training record
    package_data={"ltr_slt": ["demo_data/*.pth", "demo_data/*.json"]},
    install_requires=[
        "torch>=1.10",
        "numpy",
        "opencv-python-headless",
        "tqdm",
    ],
    extras_require={
        "jpeg": ["jpeg4py"],
        "vis": ["visdom"],
        "tb": ["tensorboard"],
        "plot": ["matplotlib"],
        "images": ["scikit-image"],
        "test": ["pytest", "matplotlib", "scikit-image"],
    },
    entry_points={
        "console_scripts": [
            "slt-train=ltr_slt.run_training:main",
            "slt-track=pytracking_slt.run_tracker:main",
            "slt-analysis=pytracking_slt.analysis.__main__:main",
            "slt-doctor=ltr_slt.admin.doctor:main",
            "slt-workspace=pytracking_slt.workspace.cli:main",
            "slt-synthetic=ltr_slt.dataset.synthetic:main",
            "slt-demo=ltr_slt.demo:main",
        ]
    },
)
