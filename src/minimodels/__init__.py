"""minimodels: the small, tested pieces the Pixels to Patches chapters build.

Each module holds one concept and names the chapter that builds it:

======================  =====================================================
module                  what it holds
======================  =====================================================
``data``             MNIST-5k (ships with the course), full-size loaders (ch. 01)
``synthetic``        seeded images of simple shapes for controlled experiments
``train``            seeding, ``fit`` / ``evaluate``, parameter counting (ch. 01)
``conv``             ``conv2d_loops``, ``conv2d_unfold``, ``Conv2d`` (ch. 02)
``pooling``          max / average / global pooling (ch. 03)
``receptive_field``  analytic and effective receptive fields (ch. 03)
``cnn``              ``SmallCNN`` (ch. 04)
``recipes``          named model + training presets shared by chapters
``summary``          layer-by-layer shape and parameter tables (ch. 04)
``patches``          ``patchify``, ``PatchEmbedding``, position tables (ch. 05)
``attention``        ``attention``, ``MultiHeadAttention`` (ch. 06)
``vit``              ``ViT``, ``TransformerBlock``, ``to_torchvision`` (ch. 07)
``augment``          random shifts for training (ch. 07)
``hybrid``           the convolutional stem of the hybrid ViT (ch. 11)
``attention_distance``  mean attention distance per block and head (ch. 08)
``flops``            FLOP counts; torchvision's reference models (ch. 09)
``shifts``           shifting images; equivariance and shift robustness (ch. 10)
``corruptions``      noise, blur, occlusion, patch subsets (ch. 12)
``cache``            results computed once per build, keyed by spec and code
``experiments``      the experiments of chapters 08-13, runnable anywhere
``verdicts``         the six claims' verdicts, computed from measurements (ch. 13)
``literature``       the published figures the chapters quote, with sources
``timing``           robust timing for speed ratios (ch. 02, ``benchmarks/``)
``exercises``        the checks behind every exercise cell
``course``           student versions of the chapters, the list of exercises
``book``             ``glue`` that also works outside the book (e.g. on Colab)
======================  =====================================================


Symbol table, used with the same letters and casing in every module, chapter
and einops pattern:

====  ================================  ====  ===============================
B     batch size                        P     patch size (side, in pixels)
C     channels                          N     number of tokens
H, W  height, width (pixels)            D     model (embedding) width
K     kernel size (side)                h     attention heads
====  ================================  ====  ===============================

Images are ``(B, C, H, W)`` float tensors with values in [0, 1] unless a
docstring says otherwise; labels are ``(B,)`` int64 tensors.
"""

__version__ = "0.1.0"
