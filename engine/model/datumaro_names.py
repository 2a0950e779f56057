"""Datumaro 1.x top-level names this engine does not offer, each with why and what to use
instead: a Datumaro script that reaches one gets that said (``NotSupportedError``), never a
bare ``AttributeError``."""

from __future__ import annotations

_SHAPES = (
    "this engine holds images with class labels (Label); a shape annotation has no place in "
    "the MNIST family"
)
_MEDIA = "this engine holds still images (Image); other media have no place in the MNIST family"
_PLUGINS = (
    "formats are declared as specs or adapters: see engine.register_spec / engine.register_format"
)

#: name -> why it is not offered and what to use instead
NOT_OFFERED: dict[str, str] = {
    **{
        name: _SHAPES
        for name in (
            "Bbox",
            "RotatedBbox",
            "Polygon",
            "PolyLine",
            "Points",
            "Mask",
            "RleMask",
            "CompiledMask",
            "ExtractedMask",
            "BinaryMaskImage",
            "IndexMaskImage",
            "Ellipse",
            "Cuboid3d",
            "Cuboid2D",
            "Skeleton",
            "Caption",
            "HashKey",
            "Tabular",
            "MaskCategories",
            "PointsCategories",
            "TabularCategories",
        )
    },
    **{
        name: _MEDIA
        for name in (
            "Video",
            "VideoFrame",
            "PointCloud",
            "MultiframeImage",
            "RoIImage",
            "MosaicImage",
            "Table",
            "TableRow",
        )
    },
    **{
        name: _PLUGINS
        for name in (
            "Environment",
            "Importer",
            "Exporter",
            "Extractor",
            "DatasetBase",
            "SubsetBase",
            "Transform",
            "ItemTransform",
            "CliPlugin",
        )
    },
    "Launcher": "model inference is not part of this engine",
    "ModelTransform": "model inference is not part of this engine",
    "ImageFromFile": "use engine.Image.from_file(path)",
    "ImageFromNumpy": "use engine.Image.from_numpy(array)",
    "ImageFromBytes": "decode the bytes first (PIL.Image.open) and pass engine.Image.from_numpy",
    "StreamDataset": "engine.load(..., cache=True) memory-maps the columns instead",
}
