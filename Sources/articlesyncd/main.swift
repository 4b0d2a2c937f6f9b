print("articlesyncd")
