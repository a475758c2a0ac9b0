"""The cacheable rules' outputs: one multiext whose files are the Paths they name, or one
folder holding them."""

from __future__ import annotations

from brainbehave.paths import Paths

P = Paths(results="res")


def test_pose2d_analyze_outputs_are_one_prefix_plus_suffixes() -> None:
    prefix = P.pose2d_video_prefix("rat01", "ses01", "camA")
    outputs = {k: prefix + v for k, v in P.pose2d_analyze_suffixes(labeled_video=True).items()}
    assert outputs == {
        "h5": P.pose2d_dlc("rat01", "ses01", "camA"),
        "pose": P.pose2d_raw("rat01", "ses01", "camA"),
        "labeled": P.pose2d_labeled_video("rat01", "ses01", "camA"),
    }
    assert "labeled" not in P.pose2d_analyze_suffixes(labeled_video=False)


def test_pose2d_train_outputs_are_the_model_archive_and_the_evaluation_beside_it() -> None:
    suffixes = P.pose2d_train_suffixes()
    assert (
        P.pose2d_model() + suffixes["archive"] == P.pose2d_model_archive() == "res/pose2d/model.tar"
    )
    assert P.pose2d_model() + suffixes["evaluation"] == P.pose2d_evaluation()


def test_latents_fit_output_is_one_archive_of_the_folder_holding_each_embedding() -> None:
    folder = P.latents_fit_dir("m")
    assert folder == "res/latents/m/fit" and P.latents_fit_archive("m") == folder + ".tar"
    keys = [("rat01", "ses01"), ("rat02", "ses_1")]
    files = [P.latents_model("m"), *(P.latents_embedding("m", *k) for k in keys)]
    assert [f.rsplit("/", 1)[0] for f in files] == [folder] * 3
    assert len(set(files)) == 3
    # IDs may hold "_" but not ".": subject a_b/session c and a/b_c stay two files
    assert P.latents_embedding("m", "a_b", "c") != P.latents_embedding("m", "a", "b_c")
    # Snakemake clears the unpacked folder before a rerun: checkpoints, scorecard, plot and the
    # archive lie outside it (a killed fit must find its checkpoints)
    others = ("checkpoints", "scorecard", "plot", "fit_archive")
    for other in (getattr(P, f"latents_{name}")("m") for name in others):
        assert not other.startswith(folder + "/") and other.startswith("res/latents/m/")
