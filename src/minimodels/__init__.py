"""minimodels: the small, tested pieces the Pixels to Patches chapters build.

Each module holds one concept. In the order the chapters first import them
(chapter in brackets), then the modules that serve the others:

======================  =====================================================
module                  what it holds
======================  =====================================================
``book``                ``glue`` that also works outside the book (00)
``data``                MNIST-5k (ships with the course), full-size loaders (00)
``train``               seeding, ``fit`` / ``evaluate``, ``eval_mode``, counting (00-01)
``exercises``           the checks behind every exercise cell (01)
``conv``                ``conv2d_loops``, ``conv2d_unfold``, ``Conv2d`` (02)
``schematics``          drawings of im2col, SmallCNN, attention, the ViT (02-07)
``pooling``             max / average / global / blur pooling (03)
``receptive_field``     analytic and effective receptive fields (03)
``cnn``                 ``SmallCNN`` (03-04)
``recipes``             every model the course trains, one table, one ``build`` (04)
``summary``             layer-by-layer shape and parameter tables (04)
``experiments``         cached training; one module per evidence chapter (04)
``patches``             ``patchify``, ``PatchEmbedding``, position tables (05)
``vit``                 ``ViT``, ``TransformerBlock``, ``to_torchvision`` (05-07)
``attention``           ``attention``, ``MultiHeadAttention`` (06)
``timing``              robust timing for speed ratios (06, ``benchmarks/``)
``augment``             random shifts for training (07)
``stats``               mean and 95% t-interval over seeds; test-set sampling error (07)
``probes``              probes, position similarity, one query's attention (07-08)
``attention_distance``  mean attention distance per block and head (08)
``attention_ablation``  a trained ViT's attention replaced by a null at test time (08)
``synthetic``           seeded images of simple shapes, the long-range task (08)
``verdicts``            the six claims' verdicts, computed from measurements (08-13)
``literature``          the published figures the chapters quote, with sources (09)
``flops``               FLOP counts; torchvision's reference models (09)
``locally_connected``   ``LocallyConnected2d``: convolution without weight sharing (09)
``shifts``              shifting images; equivariance and shift robustness (10)
``hybrid``              ``ConvStem``, the convolutional stem of the hybrid ViT (11)
``corruptions``         noise, blur, occlusion, patch subsets (12)
``shapes``              ``check_images``: the one input check of every layer
``cache``               results computed once per build, keyed by spec and code
``authoring``           for authors and instructors: student versions
                        (``python -m minimodels.course``), the Colab cell
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
