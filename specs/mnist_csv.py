"""MNIST in CSV (pjreddie's `mnist_train.csv`/`mnist_test.csv`, Kaggle's copies with a header line).

One row per item: the label (-1 = no label), then the 784 pixels of the 28x28 image in row-major
order; a row holding only the label is an item without image. Datumaro's `meta_<subset>.csv` side
file keeps custom ids and image sizes.
"""

from __future__ import annotations

from specs.mnist import SPEC as MNIST
from specs.schema import CsvLayout, DatasetSpec, SideFile

SPEC = DatasetSpec(
    name="mnist_csv",
    description="MNIST handwritten digits as CSV rows: label, then 784 pixels (mnist_<subset>.csv)",
    layout=CsvLayout(
        file_names=("mnist_{prefix}.csv",),
        # Datumaro's rule: any `*mnist_*.csv`; the subset is the text after the last underscore.
        name_regex=r"(?i)^.*mnist_(?:.*_)?(?P<prefix>[^_]+)\.csv$",
        image_shape=(28, 28),
        pixel_range=(0, 255),
        side_file=SideFile(name="meta_{subset}.csv", encoding="csv"),
    ),
    classes=tuple(str(digit) for digit in range(10)),
    no_label=-1,
    max_label=254,
    sources=MNIST.sources.model_copy(
        update={
            "mirrors": (),
            "files": (),
            "converted": (),
            "derived_from": MNIST.name,
            "content_proof": "no living source publishes these CSVs with a hash: they are "
            "written from the verified MNIST IDX files by this spec's own writer",
        }
    )
    if MNIST.sources
    else None,
)
