"""Using a trained model: predict, explain (Grad-CAM), export and the web app."""
