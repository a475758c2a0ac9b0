"""Stage 1 - 2D pose: DeepLabCut training and inference, import of existing pose, cleaning.

Modules (``deeplabcut`` is imported only inside the functions that need it: 5-9 s, 1.5 GB):

- :mod:`~brainbehave.pose2d.sources`: which pose each video gets (inference or a lab's file),
  the rules' input functions and targets (cheap: used when the workflow is parsed);
- :mod:`~brainbehave.pose2d.project`: read, check, copy and split a DeepLabCut project;
- :mod:`~brainbehave.pose2d.video`: checks a video with OpenCV before anything runs on it;
- :mod:`~brainbehave.pose2d.train_settings`: the ``pose2d.train`` settings, validated;
- :mod:`~brainbehave.pose2d.dlc`: training dataset, from-scratch or pretrained model, training,
  DeepLabCut's evaluation;
- :mod:`~brainbehave.pose2d.analyze`: ``analyze_videos`` to a declared output, labelled video;
- :mod:`~brainbehave.pose2d.progress`: inference progress as log lines (frames done, frames/s);
- :mod:`~brainbehave.pose2d.model_archive`: the model folder as one ``.tar`` (cacheable), unpacked;
- :mod:`~brainbehave.pose2d.weights`: pretrained weights on disk, or an immediate clear error;
- :mod:`~brainbehave.pose2d.superanimal`: zero-shot SuperAnimal inference (weights needed);
- :mod:`~brainbehave.pose2d.io`: DeepLabCut / SLEAP / Lightning Pose files to the pose model;
- :mod:`~brainbehave.pose2d.clean`: likelihood threshold, gap interpolation, smoothing;
- :mod:`~brainbehave.pose2d.accuracy`: error in px against the virtual lab's ground truth.
"""
