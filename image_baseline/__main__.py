from image_baseline.cli import main

main()
